"""An Eastron SDM630 on Modbus TCP: input registers as float32 big-endian, energy rising."""

from __future__ import annotations

import math
import random
import struct
import time
from collections.abc import Callable

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

# Input register -> value in the SDM630 map (REFERENCE §1), float32 big-endian words.
VOLTAGE = (0x0000, 0x0002, 0x0004)
CURRENT = (0x0006, 0x0008, 0x000A)
POWER = (0x000C, 0x000E, 0x0010)
TOTAL_POWER = 0x0034
POWER_FACTOR = 0x003E
FREQUENCY = 0x0046
IMPORT_KWH = 0x0048
EXPORT_KWH = 0x004A
SPAN = 0x004C  # registers 0x0000..0x004B


class Sdm630:
    """The meter's state; ``registers()`` renders it as the 76 registers from 0x0000."""

    def __init__(
        self,
        *,
        start_kwh: float = 1234.5,
        load_kw: float = 3.0,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
    ) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.load_kw = load_kw
        self.import_kwh = start_kwh
        self._last = clock()
        self.reads = 0

    def advance(self) -> None:
        now = self.clock()
        hours = max(0.0, now - self._last) / 3600
        self._last = now
        hour_of_day = time.localtime(now).tm_hour
        profile = 0.6 + 0.4 * math.sin(math.pi * (hour_of_day - 6) / 12) ** 2
        self.import_kwh += self.load_kw * profile * hours * 3600 / 60  # demo: a minute per second

    def registers(self) -> list[int]:
        self.advance()
        regs = [0] * SPAN
        volts = [230 + self.rng.gauss(0, 1.5) for _ in range(3)]
        amps = [self.load_kw * 1000 / 3 / v for v in volts]

        def put(addr: int, value: float) -> None:
            hi, lo = struct.unpack(">HH", struct.pack(">f", value))
            regs[addr], regs[addr + 1] = hi, lo

        for addr, v in zip(VOLTAGE, volts, strict=True):
            put(addr, v)
        for addr, a in zip(CURRENT, amps, strict=True):
            put(addr, a)
        for addr, v, a in zip(POWER, volts, amps, strict=True):
            put(addr, v * a)
        put(TOTAL_POWER, self.load_kw * 1000)
        put(POWER_FACTOR, 0.95)
        put(FREQUENCY, 50 + self.rng.gauss(0, 0.02))
        put(IMPORT_KWH, self.import_kwh)
        put(EXPORT_KWH, 0.0)
        return regs


def make_server(
    meters: dict[int, Sdm630], *, host: str = "127.0.0.1", port: int = 5020
) -> ModbusTcpServer:
    """A Modbus TCP server with one SDM630 per unit id."""
    devices = []
    for unit_id, meter in meters.items():

        async def action(
            function_code: int,
            start_address: int,
            address: int,
            count: int,
            current_registers: list[int],
            set_values: object,
            meter: Sdm630 = meter,
        ) -> None:
            regs = meter.registers()
            meter.reads += 1
            # current_registers starts at start_address; fill the requested window.
            for k in range(count):
                if 0 <= address + k < SPAN:
                    current_registers[address - start_address + k] = regs[address + k]

        devices.append(
            SimDevice(
                id=unit_id,
                simdata=(
                    [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
                    [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
                    [SimData(0, values=[0] * 8, datatype=DataType.REGISTERS)],
                    [SimData(0, values=[0] * SPAN, datatype=DataType.REGISTERS)],
                ),
                action=action,
            )
        )
    return ModbusTcpServer(devices, address=(host, port))
