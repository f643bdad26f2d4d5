"""``m2c central user ...`` and ``m2c central apikey ...`` against a real database: the first
admin, roles, disable, passwd, keys shown once and revoked; what they make logs in over HTTP."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from central.auth import apikeys
from central.auth.passwords import verify
from central.auth.users import by_login
from central.db.engine import make_engine
from m2c.cli import main
from tests.support.central_app import central_server

PASSWORD = "first admin's long password"


def _m2c(monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


def test_users_and_keys_from_the_command_line(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("M2C_CENTRAL_DATABASE_URL", db_url)
    ok = _m2c(monkeypatch, PASSWORD + "\n", "central", "user", "add", "root", "--role", "admin",
              "--name", "Quản trị", "--password-stdin")  # fmt: skip
    assert ok == 0
    pw = tmp_path / "pw"
    pw.write_text("the clerk's own passphrase\n")
    assert main(["central", "user", "add", "thu", "--role", "billing_clerk", "--role",
                 "cashier", "--password-file", str(pw)]) == 0  # fmt: skip
    capsys.readouterr()
    # refused: a duplicate, a weak password, an unknown role, no password source off a terminal
    assert _m2c(monkeypatch, PASSWORD + "\n", "central", "user", "add", "thu", "--role",
                "admin", "--password-stdin") == 1  # fmt: skip
    assert "exists already" in capsys.readouterr().err
    assert _m2c(monkeypatch, "short\n", "central", "user", "add", "lan", "--role", "cashier",
                "--password-stdin") == 1  # fmt: skip
    assert "at least 12" in capsys.readouterr().err
    assert _m2c(monkeypatch, "", "central", "user", "add", "lan", "--role", "cashier") == 1
    assert "no password" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["central", "user", "add", "lan", "--role", "boss"])
    capsys.readouterr()

    assert main(["central", "user", "list"]) == 0
    listing = capsys.readouterr().out
    assert "root" in listing
    assert "billing_clerk,cashier" in listing
    assert main(["central", "user", "disable", "thu"]) == 0
    assert main(["central", "user", "list"]) == 0
    assert "disabled" in capsys.readouterr().out
    assert _m2c(monkeypatch, "a brand new passphrase\n", "central", "user", "passwd", "root",
                "--password-stdin") == 0  # fmt: skip
    engine = make_engine(db_url)
    with Session(engine) as s:
        root = by_login(s, "root")
        assert root is not None
        assert verify(root.password_hash, "a brand new passphrase")
        assert root.display_name == "Quản trị"
    capsys.readouterr()

    assert main(["central", "apikey", "add", "crm", "--role", "auditor"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("m2c_")
    assert main(["central", "apikey", "list"]) == 0
    listing = capsys.readouterr().out
    assert "crm" in listing
    assert key not in listing
    with central_server(db_url) as central:
        r = httpx.get(f"{central.base}/api/v1/auth/me", headers={"X-API-Key": key})
        assert r.json()["name"] == "key:crm"
        r = httpx.post(
            f"{central.base}/api/v1/auth/token",
            data={"username": "root", "password": "a brand new passphrase"},
        )
        assert r.status_code == 200
        r = httpx.post(
            f"{central.base}/api/v1/auth/token",
            data={"username": "thu", "password": "the clerk's own passphrase"},
        )
        assert r.status_code == 401  # disabled
        assert main(["central", "apikey", "revoke", "crm"]) == 0
        r = httpx.get(f"{central.base}/api/v1/auth/me", headers={"X-API-Key": key})
        assert r.status_code == 401
    with Session(engine) as s:
        assert [k.revoked_at is not None for k in apikeys.all_keys(s)] == [True]
    engine.dispose()
