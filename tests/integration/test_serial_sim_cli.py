"""``m2c sim iec`` and ``m2c sim mbus`` run as programs; the gateway's devices read them."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from contract.mqtt import Reading
from drivers.iec62056.transport import IecLink
from drivers.mbus.transport import MbusLink
from drivers.serialport import AsyncSerialPort, LineSettings
from gateway.polling.iec import IecDevice
from gateway.polling.mbus import MbusDevice

HANOI = timezone(timedelta(hours=7))  # the simulated meters' clocks


def launch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "m2c", "--log-level", "warning", "sim", *args, "--duration", "20"],
        stdout=subprocess.PIPE,
        text=True,
    )


def ready(proc: subprocess.Popen[str]) -> subprocess.Popen[str]:
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    assert " on " in banner, banner
    return proc


def start(*args: str) -> subprocess.Popen[str]:
    return ready(launch(*args))


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    return out


def test_iec_simulator_program(tmp_path: Path) -> None:
    link = tmp_path / "ttyUSB0"
    proc = start("iec", "--link", str(link), "--address", "4711", "--address", "4712")
    try:
        port = AsyncSerialPort(str(link), LineSettings(300, 7, "E"))
        dev = IecDevice(
            "e-4712", transport=port, link=IecLink(address="4712", answer_s=1.0), meter_tz=HANOI
        )
        readings = asyncio.run(dev.read())
        port.close()
    finally:
        out = stop(proc)
    energy = {r.quantity: r for r in readings}["energy_import"]
    assert energy.value == 13345.678  # the second meter starts 1000 kWh above the first
    assert "readouts=1" in out


def test_mbus_simulator_program(tmp_path: Path) -> None:
    link = tmp_path / "ttyMBUS0"
    proc = start("mbus", "--link", str(link), "--water", "1", "--heat", "1")
    try:
        port = AsyncSerialPort(str(link), LineSettings(2400, 8, "E"))
        dev = MbusDevice(
            "heat-2", transport=port, primary=2, link=MbusLink(answer_s=1.0), meter_tz=HANOI
        )
        readings = asyncio.run(dev.read())
        port.close()
    finally:
        out = stop(proc)
    assert {r.quantity for r in readings} >= {"heat_energy", "heat_power", "volume", "volume_flow"}
    assert "answers=3" in out  # E5 to SND_NKE, then two telegrams (more records follow)


@pytest.mark.slow
def test_serial_commands_read_and_scan(tmp_path: Path) -> None:
    iec_link, mbus_link = tmp_path / "ttyUSB0", tmp_path / "ttyAMA0"
    iec_sim = launch("iec", "--link", str(iec_link))
    mbus_sim = launch("mbus", "--link", str(mbus_link), "--heat", "1", "--ids", "12345678,55501234")
    ready(iec_sim)
    ready(mbus_sim)
    m2c = [sys.executable, "-m", "m2c", "--log-level", "warning", "serial"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*m2c, *args], capture_output=True, text=True, timeout=20)

    try:
        iec_read = subprocess.Popen(  # another port: runs while the M-Bus commands take turns
            [*m2c, "iec-read", str(iec_link), "--meter-tz", "+07:00"],
            stdout=subprocess.PIPE,
            text=True,
        )
        # the simulated meters' clocks are +07:00: without the zone, no reading (not UTC)
        zoneless = run("mbus-read", str(mbus_link), "--secondary", "5550FFFF")
        mbus = run("mbus-read", str(mbus_link), "--secondary", "5550FFFF", "--meter-tz", "+07:00")
        scan = run("mbus-scan", str(mbus_link), "--answer", "0.05")
        missing = run("mbus-read", str(mbus_link), "--primary", "9", "--answer", "0.1")
        iec_out, _ = iec_read.communicate(timeout=20)
    finally:
        stop(iec_sim)
        stop(mbus_sim)
    assert iec_read.returncode == 0
    assert '"quantity":"energy_import"' in iec_out
    assert mbus.returncode == 0, mbus.stderr
    assert '"quantity":"heat_energy"' in mbus.stdout
    assert zoneless.returncode == 1
    assert "no meter_tz is set" in zoneless.stdout
    assert "--meter-tz" in zoneless.stdout
    stamped = Reading.model_validate_json(mbus.stdout.splitlines()[0]).ts
    assert abs(stamped - datetime.now(UTC)) < timedelta(minutes=2)  # not seven hours off
    assert scan.stdout.splitlines()[-1] == "2 meter(s)"
    assert "12345678 MCS v1 water" in scan.stdout
    assert "55501234 MCS v1 heat" in scan.stdout
    assert missing.returncode == 1
    assert "no reading: mbus: timeout" in missing.stdout
