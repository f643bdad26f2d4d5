"""``m2c sim modbus``: the command line runs a simulator a peer can read; garbage is survived."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import pytest
import serial
from pymodbus.client import AsyncModbusSerialClient

from m2c.cli import main
from simulators.modbus.meter import MeterSpec
from simulators.modbus.rtu import ModbusRtuSimulator
from tests.support.aio import run_async


def test_cli_tcp_simulator_is_read_by_mbpoll() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "m2c",
            "--log-level",
            "warning",
            "sim",
            "modbus",
            "tcp",
            "--port",
            "0",
            "--meter",
            "1-3=eastron-sdm120",
            "--fault",
            "3:exception=2",
            "--duration",
            "5",
        ],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": "."},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        match = re.search(r"serving 3 meters on 127\.0\.0\.1:(\d+)", line)
        assert match, line
        port = match.group(1)
        ok = subprocess.run(
            [
                "mbpoll",
                "-1",
                "-0",
                "-q",
                "-m",
                "tcp",
                "-p",
                port,
                "-a",
                "2",
                "-t",
                "3:float",
                "-B",
                "-r",
                "0",
                "-c",
                "1",
                "127.0.0.1",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert ok.returncode == 0, ok.stdout + ok.stderr
        volts = float(re.findall(r"^\[0\]:\s+(\S+)", ok.stdout, re.M)[0])
        assert 220 < volts < 240
        bad = subprocess.run(
            [
                "mbpoll",
                "-1",
                "-0",
                "-q",
                "-m",
                "tcp",
                "-p",
                port,
                "-a",
                "3",
                "-t",
                "3",
                "-r",
                "0",
                "-c",
                "1",
                "127.0.0.1",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert "Illegal data address" in bad.stdout + bad.stderr
    finally:
        proc.terminate()
        proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--meter", "1-3"], "want UNITS=MODEL"),
        (["--meter", "1=nosuch"], "no model 'nosuch'"),
        (["--meter", "1=generic", "--fault", "2:crc"], "no meter at unit 2"),
        (["--meter", "0-3=generic"], "1 <= N <= M <= 247"),
    ],
)
def test_cli_refuses_bad_meters(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "modbus", "tcp", *args]) == 2
    assert message in capsys.readouterr().err


@run_async
async def test_rtu_simulator_survives_garbage_on_the_line() -> None:
    async with ModbusRtuSimulator([MeterSpec(1, "eastron-sdm630")], baud=19200) as sim:
        noise = serial.Serial(sim.port, 19200)
        noise.write(bytes(range(256)) * 4 + b"\x01\x10\xff")  # a partial frame at the end
        noise.flush()
        noise.close()
        await asyncio.sleep(0.2)  # longer than the gap: the partial frame is dropped
        assert sim.frame_errors > 0
        client = AsyncModbusSerialClient(
            sim.port, baudrate=19200, timeout=1, retries=0, reconnect_delay=0
        )
        await client.connect()
        try:
            resp = await client.read_input_registers(0x48, count=2, device_id=1)
            assert not resp.isError()
            assert len(resp.registers) == 2
        finally:
            client.close()


@run_async
async def test_tcp_simulator_drops_a_garbage_connection_and_serves_the_next() -> None:
    from drivers.modbus.frames import MbapDecoder, mbap_frame, read_request_pdu
    from simulators.modbus import ModbusTcpSimulator

    async with ModbusTcpSimulator([MeterSpec(1, "eastron-sdm630")]) as sim:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(b"\x00\x01\x99\x99\x00\x06\x01garbage")  # protocol id 0x9999
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 2) == b""  # closed by the server
        writer.close()
        assert sim.frame_errors == 1
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(mbap_frame(7, 1, read_request_pdu(4, 0x48, 2)))
        await writer.drain()
        dec = MbapDecoder()
        while (frame := dec.next_frame()) is None:
            dec.feed(await asyncio.wait_for(reader.read(64), 2))
        writer.close()
        assert frame.transaction == 7
        assert frame.pdu[:2] == bytes((4, 4))
