"""``m2c gateway check-config``: a wrong file is one line per error naming the key, exit 2,
never a traceback; a valid file that will probably not work on this host is warned about."""

from __future__ import annotations

from pathlib import Path

import pytest

from m2c.cli import main
from tests.support.signing import CENTRAL_PUBLIC

RTU = """
[[buses]]
kind = "modbus-rtu"
name = "cab"
port = "{port}"
baud = {baud}
period_s = {period}
meters = [{{ id = "m1", model = "{model}", unit_id = 1 }}]
"""
IEC = """
[[buses]]
kind = "iec62056-21"
port = "/dev/ttyIEC0"
signon_baud = {baud}
meters = [{{ id = "e1", period_s = {period} }}]
"""
MBUS = """
[[buses]]
kind = "mbus"
port = "/dev/ttyMBUS0"
baud = {baud}
meters = [{{ id = "w1", primary = 3, period_s = {period} }}]
"""
TCP = """
[[buses]]
kind = "modbus-tcp"
name = "lan"
period_s = {period}
meters = [{{ id = "t1", model = "eastron-sdm630" }}]
"""


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[int, str, str]:
    cfg = tmp_path / "gw.toml"
    cfg.write_text('gateway_id = "gw-c"\n' + text)
    code = main(["gateway", "check-config", "-c", str(cfg)])
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    return code, out.out, out.err


def rtu(**kw: object) -> str:
    values: dict[str, object] = {
        "port": "/dev/ttyUSB0",
        "baud": 9600,
        "period": 60,
        "model": "eastron-sdm630",
    }
    values.update(kw)
    return RTU.format(**values)


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (rtu(period=0), "buses.0.modbus-rtu.period_s", "greater than 0"),
        (rtu(period=-5), "buses.0.modbus-rtu.period_s", "greater than 0"),
        (TCP.format(period=0), "buses.0.modbus-tcp.period_s", "greater than 0"),
        (IEC.format(baud=300, period=0), "period_s", "greater than 0"),
        (MBUS.format(baud=2400, period=0), "period_s", "greater than 0"),
        ('[[synthetic]]\nid = "s"\nperiod_s = 0\n', "synthetic.0.period_s", "greater than 0"),
        (rtu(baud=9601), "buses.0.modbus-rtu.baud", "not a standard rate"),
        (rtu(baud=31250), "buses.0.modbus-rtu.baud", "not a standard rate"),
        (IEC.format(baud=301, period=60), "signon_baud", "not a standard rate"),
        (MBUS.format(baud=115200, period=60), "baud", "not a standard rate"),
        (rtu(model="eastron-sdm999"), "<top>", "no model 'eastron-sdm999'"),
        ('meter_models = ["/nonexistent/models"]\n', "<top>", "does not exist"),
        ('[mqtt]\ntls = true\nca_file = "/nonexistent/ca.pem"\n', "mqtt", "ca_file"),
        ('[mqtt]\ntls = true\ncert_file = "/etc"\nkey_file = "/etc"\n', "mqtt", "cert_file"),
        ('[mqtt]\nca_file = "/etc/hostname"\n', "mqtt", "tls = false"),
        ('[downlink]\ncentral_keys = ["not-a-key"]\n', "downlink.central_keys", "Ed25519"),
        ('[mqtt]\npassword = "changeme"\n', "mqtt.password", "placeholder"),
        ('[mqtt]\npassword_file = "/nonexistent/pw"\n', "mqtt", "password_file"),
        ('[mqtt]\npassword = "x7"\npassword_file = "/etc/hostname"\n', "mqtt", "not both"),
    ],
)
def test_wrong_files_are_one_line_per_error_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str, words: str
) -> None:
    code, out, err = check(tmp_path, capsys, text)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"config error in {tmp_path / 'gw.toml'}: key '")
    assert key in lines[0]
    assert words in lines[0]


def test_a_missing_serial_port_is_warned_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = rtu(port="/dev/ttyM2C-ABSENT") + MBUS.format(baud=2400, period=900)
    code, out, err = check(tmp_path, capsys, text)
    assert code == 0
    assert "ok (gateway gw-c, 2 buses" in out
    assert "bus 'cab': serial port /dev/ttyM2C-ABSENT does not exist" in err
    assert "serial port /dev/ttyMBUS0 does not exist" in err
    assert "every command from central will be refused" in err


def test_a_complete_file_has_no_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    text = f"""
[mqtt]
username = "gw-c"
password = "a-real-password-from-enrollment"
tls = true
ca_file = "{ca}"
[downlink]
central_keys = ["{CENTRAL_PUBLIC}"]
""" + TCP.format(period=60)
    code, _, err = check(tmp_path, capsys, text)
    assert (code, err) == (0, "")
