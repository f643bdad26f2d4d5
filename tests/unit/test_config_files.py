"""Configuration: the samples load; a wrong file is one clear message and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.settings import CentralSettings
from gateway.settings import GatewaySettings
from m2c.cli import main
from m2c.configfile import ConfigError, load

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_the_samples_load() -> None:
    gw = load(GatewaySettings, CONFIG / "gateway.sample.toml")
    assert [b.kind for b in gw.buses] == ["modbus-rtu", "modbus-tcp", "iec62056-21", "mbus"]
    assert gw.buses[0].meters[1].id == "sdm72d-02"
    central = load(CentralSettings, CONFIG / "central.sample.toml")
    assert central.http.port == 8080


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[mqtt]\nport = 'eleven'\n", "key 'mqtt.port': Input should be a valid integer"),
        ("[mqtt]\nprot = 1883\n", "key 'mqtt.prot': unknown key (misspelt?)"),
        ("gateway_id = 'a b'\n", "key 'gateway_id'"),
        ("[mqtt]\npassword = 'changeme'\n", "key 'mqtt.password'"),
        ("[mqtt\nport = 1\n", "not valid TOML"),
        (
            "[[buses]]\nkind = 'modbus-tcp'\nname = 'x'\n"
            "meters = [{ model = 'generic', unit_id = 1 }]\n",
            "key 'buses.0.modbus-tcp.meters.0.id': Field required",
        ),
        ("[[buses]]\nkind = 'can'\n", "key 'buses.0'"),
    ],
)
def test_a_wrong_file_names_file_key_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load(GatewaySettings, path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_the_command_line_exits_2_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "central.toml"
    path.write_text("[http]\nport = 70000\n")
    assert main(["central", "check-config", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"config error in {path}: key 'http.port'" in err
    assert main(["gateway", "check-config", "-c", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gw.toml"
    path.write_text("gateway_id = 'from-file'\n[mqtt]\nport = 1883\n")
    monkeypatch.setenv("M2C_GW_GATEWAY_ID", "from-env")
    monkeypatch.setenv("M2C_GW_MQTT__PORT", "8883")
    settings = load(GatewaySettings, path)
    assert settings.gateway_id == "from-env"
    assert settings.mqtt.port == 8883
