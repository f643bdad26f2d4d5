"""Serial meter reads against the wire's limit, with wire-timing emulation on ptys.

    python -m tests.bench.bench_serial_meters [--rounds N]

IEC 62056-21: one readout (sign-on and ACK at 300 baud 7E1, data at 9600) against the sum of
its characters' wire time and the two 20 ms reaction times. M-Bus: water meters at 2400 8E1,
read one after another (SND_NKE, E5, REQ_UD2, RSP_UD, 33 bit times of pause), against the same
sum. The simulators pace every character in both directions at the line speed.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from drivers.iec62056.datasets import format_lines
from drivers.iec62056.frames import encode_data_block, encode_identification
from drivers.iec62056.transport import IecLink
from drivers.mbus.frames import LongFrame, encode
from drivers.mbus.transport import MbusLink
from drivers.serialport import AsyncSerialPort, LineSettings
from gateway.polling.iec import IecDevice
from gateway.polling.mbus import MbusDevice
from simulators.iec_meter import IecBus, IecMeter, IecMeterSpec
from simulators.mbus_meter import MbusBus, MbusMeter, MbusMeterSpec


async def bench_iec(rounds: int) -> None:
    meter = IecMeter(IecMeterSpec(address="", has_clock=True))
    async with IecBus([meter], wire_timing=True) as bus:
        port = AsyncSerialPort(bus.path, LineSettings(300, 7, "E"))
        dev = IecDevice("iec-bench", transport=port, link=IecLink(answer_s=2.0, gap_s=0.5))
        await dev.read()  # warm up
        start = time.perf_counter()
        for _ in range(rounds):
            await dev.read()
        achieved = (time.perf_counter() - start) / rounds
        port.close()
    ident = len(encode_identification(meter.identification))
    block = len(encode_data_block(format_lines(meter.datasets())))
    slow = (5 + ident + 6) * 10 / 300
    fast = block * 10 / 9600
    limit = slow + fast + 2 * 0.02
    print(f"IEC 62056-21 readout, {block}-byte block, 300 → 9600 baud:")
    parts = f"sign-on {slow * 1000:.0f} ms, block {fast * 1000:.0f} ms"
    print(f"  wire limit {limit * 1000:.0f} ms ({parts})")
    ratio = limit / achieved
    print(f"  achieved   {achieved * 1000:.0f} ms per readout; limit/achieved = {ratio:.2f}")


async def bench_mbus(rounds: int, meters: int, baud: int) -> None:
    sims = [MbusMeter(MbusMeterSpec(primary=i + 1, id=10000001 + i)) for i in range(meters)]
    async with MbusBus(sims, wire_timing=True, baudrate=baud) as bus:
        port = AsyncSerialPort(bus.path, LineSettings(baud, 8, "E"))
        link = MbusLink(baudrate=baud, answer_s=1.0, gap_s=0.2)
        devices = [
            MbusDevice(f"w{i}", transport=port, primary=i + 1, link=link) for i in range(meters)
        ]
        for dev in devices:
            await dev.read()
        start = time.perf_counter()
        for _ in range(rounds):
            for dev in devices:
                await dev.read()
        elapsed = time.perf_counter() - start
        port.close()
    reads = rounds * meters
    telegram = len(encode(LongFrame(c=8, a=1, ci=0x72, data=sims[0].telegram(0))))
    per_read = (5 + 1 + 5 + telegram) * 11 / baud + link.pause_s
    print(f"M-Bus, {meters} water meters at {baud} 8E1, {telegram}-byte RSP_UD:")
    print(f"  wire limit {1 / per_read:.2f} reads/s ({per_read * 1000:.0f} ms per read)")
    rate = reads / elapsed
    print(f"  achieved   {rate:.2f} reads/s; achieved/limit = {rate * per_read:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    asyncio.run(bench_iec(args.rounds))
    asyncio.run(bench_mbus(args.rounds, 5, 2400))
    asyncio.run(bench_mbus(args.rounds, 5, 9600))


if __name__ == "__main__":
    main()
