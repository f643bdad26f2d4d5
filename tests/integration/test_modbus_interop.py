"""Peers nobody here wrote: Debian's mbpoll reads our simulators, our driver reads pymodbus."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import struct
from datetime import UTC, datetime

import pytest
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.modbus.decode import encode_part
from drivers.modbus.models import MeterOverrides, ModelCatalog, apply_overrides
from gateway.polling.device import DeviceError
from gateway.polling.modbus import ModbusDevice, ModbusLink
from simulators.modbus.meter import MeterSpec
from simulators.modbus.rtu import ModbusRtuSimulator
from simulators.modbus.tcp import ModbusTcpSimulator
from tests.support.aio import run_async
from tests.support.nullmodem import NullModem
from tests.support.tools import require

MBPOLL = shutil.which("mbpoll")


@pytest.fixture(autouse=True)
def _mbpoll_installed() -> None:
    require("mbpoll", "mbpoll")


async def _mbpoll(*args: str) -> tuple[int, str]:
    assert MBPOLL is not None
    proc = await asyncio.create_subprocess_exec(
        MBPOLL,
        "-1",
        "-0",
        "-q",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    return proc.returncode or 0, out.decode()


def _floats(out: str) -> dict[int, float]:
    return {int(a): float(v) for a, v in re.findall(r"^\[(\d+)\]:\s+(\S+)$", out, re.M)}


@run_async
async def test_mbpoll_reads_the_tcp_simulator() -> None:
    async with ModbusTcpSimulator(
        [MeterSpec(1, "eastron-sdm630"), MeterSpec(2, "eastron-sdm120")]
    ) as sim:
        rc, out = await _mbpoll(
            "-m",
            "tcp",
            "-p",
            str(sim.port),
            "-a",
            "1",
            "-t",
            "3:float",
            "-B",
            "-r",
            "0x48",
            "-c",
            "2",
            "127.0.0.1",
        )
        assert rc == 0, out
        got = _floats(out)
        meter = sim.bus.meters[1]
        assert got[0x48] == pytest.approx(meter.values["energy_import"], rel=1e-4)
        assert got[0x4A] == pytest.approx(meter.values["energy_export"], rel=1e-4)
        rc, out = await _mbpoll(
            "-m",
            "tcp",
            "-p",
            str(sim.port),
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
        )
        assert rc == 0, out
        assert 220 < _floats(out)[0] < 240
        # an unknown unit behind a TCP gateway: exception 0x0B, which mbpoll reports
        rc, out = await _mbpoll(
            "-m",
            "tcp",
            "-p",
            str(sim.port),
            "-a",
            "9",
            "-t",
            "3",
            "-r",
            "0",
            "-c",
            "1",
            "127.0.0.1",
        )
        assert "Target device failed to respond" in out, out


@run_async
async def test_mbpoll_reads_the_rtu_simulator_on_a_pty() -> None:
    async with ModbusRtuSimulator(
        [MeterSpec(1, "eastron-sdm630"), MeterSpec(7, "dynaflox-ultrad")], baud=9600
    ) as sim:
        rc, out = await _mbpoll(
            "-m",
            "rtu",
            "-b",
            "9600",
            "-P",
            "none",
            "-a",
            "1",
            "-t",
            "3:float",
            "-B",
            "-r",
            "0x156",
            "-c",
            "1",
            sim.port,
        )
        assert rc == 0, out
        meter = sim.bus.meters[1]
        assert _floats(out)[0x156] == pytest.approx(meter.values["energy_absolute"], rel=1e-4)
        rc, out = await _mbpoll(
            "-m",
            "rtu",
            "-b",
            "9600",
            "-P",
            "none",
            "-a",
            "7",
            "-t",
            "4",
            "-r",
            "0",
            "-c",
            "18",
            sim.port,
        )
        assert rc == 0, out
        # an unknown unit on the line: silence, so mbpoll times out
        rc, out = await _mbpoll(
            "-m",
            "rtu",
            "-b",
            "9600",
            "-P",
            "none",
            "-a",
            "9",
            "-t",
            "4",
            "-o",
            "0.3",
            "-r",
            "0",
            "-c",
            "1",
            sim.port,
        )
        assert "Connection timed out" in out, out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pymodbus_devices() -> tuple[list[SimDevice], dict[str, float]]:
    """An SDM630 (unit 1) and an ultraD (unit 2) in pymodbus's own datastore."""
    sdm = ModelCatalog().get("eastron-sdm630")
    expect = {r.quantity: 100.0 + i * 1.5 for i, r in enumerate(sdm.registers)}
    regs = [0] * 0x160
    for r in sdm.registers:
        p = r.parts[0]
        regs[p.address : p.end] = encode_part(p, expect[r.quantity])
    wregs = [0] * 22
    wregs[0:2] = struct.unpack(">HH", struct.pack(">i", 1234))  # L/h
    wregs[2:4] = struct.unpack(">HH", struct.pack(">I", 4321))
    wregs[4:6] = struct.unpack(">HH", struct.pack(">I", 250_000))
    devices = [
        SimDevice(id=1, simdata=[SimData(address=0, values=regs, datatype=DataType.REGISTERS)]),
        SimDevice(id=2, simdata=[SimData(address=0, values=wregs, datatype=DataType.REGISTERS)]),
    ]
    return devices, expect


@run_async
async def test_gateway_device_reads_a_plain_pymodbus_rtu_server_through_a_null_modem() -> None:
    catalog = ModelCatalog()
    devices, expect = _pymodbus_devices()
    async with NullModem() as (server_end, gateway_end):
        server = ModbusSerialServer(devices, port=server_end, baudrate=19200, parity="N")
        task = asyncio.create_task(server.serve_forever())
        await asyncio.sleep(0.2)
        link = ModbusLink.serial(gateway_end, baud=19200, parity="N")
        try:
            sdm = ModbusDevice("sdm630-1", catalog.get("eastron-sdm630"), 1, link)
            got = {r.quantity: r.value for r in await sdm.read()}
            assert got == pytest.approx(expect)
            water = ModbusDevice("water-1", catalog.get("dynaflox-ultrad"), 2, link)
            got = {r.quantity: r.value for r in await water.read()}
            assert got["volume"] == pytest.approx(4321.25)
            assert got["volume_flow"] == pytest.approx(1.234)  # m³/h
        finally:
            await link.close()
            await server.shutdown()
            task.cancel()


@run_async
async def test_gateway_device_reads_a_plain_pymodbus_server() -> None:
    catalog = ModelCatalog()
    sdm = catalog.get("eastron-sdm630")
    water = catalog.get("dynaflox-ultrad")
    devices, expect = _pymodbus_devices()
    port = _free_port()
    server = ModbusTcpServer(devices, address=("127.0.0.1", port))
    task = asyncio.create_task(server.serve_forever())
    await asyncio.sleep(0.2)
    link = ModbusLink.tcp("127.0.0.1", port, connect_timeout_s=2)
    try:
        dev = ModbusDevice("sdm630-1", sdm, 1, link, wall=lambda: datetime(2026, 1, 1, tzinfo=UTC))
        readings = await dev.read()
        assert {r.quantity: r.value for r in readings} == pytest.approx(expect)
        assert all(r.quality == ("time_from_gateway",) for r in readings)
        assert readings[0].ts == datetime(2026, 1, 1, tzinfo=UTC)
        wdev = ModbusDevice("water-1", water, 2, link)
        got = {r.quantity: r.value for r in await wdev.read()}
        assert got["volume"] == pytest.approx(4321.25)
        assert got["volume_flow"] == pytest.approx(1.234)  # m³/h
        # a register the server does not have: its exception, as a DeviceError
        bad = apply_overrides(
            water,
            MeterOverrides(registers=[{"quantity": "x", "address": 500}], quantities=["x"]),  # type: ignore[list-item]
        )
        with pytest.raises(DeviceError) as info:
            await ModbusDevice("water-1", bad, 2, link).read()
        assert info.value.kind == "exception_code"
    finally:
        await link.close()
        await server.shutdown()
        task.cancel()
