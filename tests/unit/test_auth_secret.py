"""The token secret: from the environment or a file, generated once with 0600, placeholders and
short secrets refused; check-config refuses plain HTTP off loopback."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from central.auth.secret import SecretError, load
from central.settings import AuthSettings
from m2c.cli import main


def test_a_secret_is_generated_once_with_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "auth-secret"
    settings = AuthSettings(generated_secret_file=path)
    first = load(settings)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(settings) == first  # read back, not made anew
    assert load(AuthSettings(generated_secret_file=tmp_path / "other")) != first


@pytest.mark.parametrize(
    "value", ["short", "changethis" * 4, "x" * 64, "my-secret-is-long-enough-1234567890"]
)
def test_placeholders_and_short_secrets_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(SecretError, match="auth secret"):
        load(AuthSettings(secret=SecretStr(value)))
    path = tmp_path / "secret"
    path.write_text(value)
    with pytest.raises(SecretError, match=str(path)):
        load(AuthSettings(secret_file=path))


def test_a_good_secret_from_the_environment_or_a_file(tmp_path: Path) -> None:
    good = "Zq8v3L0p-wK2mN9xR4tY7uB1cE5hJ6gF"
    assert load(AuthSettings(secret=SecretStr(good))) == good.encode()
    path = tmp_path / "secret"
    path.write_text(good + "\n")
    assert load(AuthSettings(secret_file=path)) == good.encode()
    with pytest.raises(SecretError, match="cannot read"):
        load(AuthSettings(secret_file=tmp_path / "missing"))


def _config(tmp_path: Path, http: str) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(
        f'database_url = "sqlite:///{tmp_path}/c.db"\n[http]\n{http}\n'
        f'[auth]\ngenerated_secret_file = "{tmp_path}/auth-secret"\n'
    )
    return path


def test_check_config_refuses_plain_http_off_loopback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, 'host = "0.0.0.0"')
    assert main(["central", "check-config", "-c", str(path)]) == 2
    assert "not a loopback address and there is no TLS" in capsys.readouterr().err
    path = _config(tmp_path, 'host = "0.0.0.0"\nallow_plaintext = true')
    assert main(["central", "check-config", "-c", str(path)]) == 0
    assert "WARNING" in capsys.readouterr().err
    path = _config(tmp_path, 'host = "::1"')
    assert main(["central", "check-config", "-c", str(path)]) == 0
    out = capsys.readouterr()
    assert "to be generated into" in out.out
    assert out.err == ""
    path = _config(tmp_path, 'host = "10.0.0.5"\ntls_certfile = "/etc/c.crt"')
    assert main(["central", "check-config", "-c", str(path)]) == 2
    assert "go together" in capsys.readouterr().err


def test_check_config_refuses_a_placeholder_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M2C_CENTRAL_AUTH__SECRET", "changeme")
    path = _config(tmp_path, "")
    assert main(["central", "check-config", "-c", str(path)]) == 2
    assert "auth secret" in capsys.readouterr().err
