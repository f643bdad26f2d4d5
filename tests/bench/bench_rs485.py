"""RS-485 efficiency: 32 SDM630 on one 9600 baud 8E1 line, each read in full (all its values).

The simulator (its own process) emulates wire timing: every byte takes 11 bits at 9600 baud and
each meter waits 3.5 characters before answering. The gateway keeps 60 ms of silence after each
transaction. Achieved full-meter reads per second are compared with the maximum computed from
the frame sizes and silences, for the planned block reads and for register-by-register reads.

    python -m tests.bench.bench_rs485 [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry

from contract.mqtt import Reading
from drivers.modbus.models import ModelCatalog
from drivers.modbus.planner import Cost, Request, plan, plan_each
from gateway.polling.modbus import ModbusDevice, ModbusLink
from gateway.polling.scheduler import BusScheduler
from tests.bench.modbus_common import meter_read_s, start_rtu_simulator

BAUD = 9600
BITS = 11
METERS = 32


async def measure(port: str, strategy: str, seconds: float) -> tuple[float, int, Sequence[Request]]:
    model = ModelCatalog().get("eastron-sdm630")
    silence = model.limits.silence_s
    requests = (
        plan(model.registers, model.limits, Cost.rtu(baud=BAUD, silence_s=silence))
        if strategy == "planned"
        else plan_each(model.registers)
    )
    # 8E1 and 8N2 both put 11 bits on the wire per byte; a pty refuses parity, so 8N2
    link = ModbusLink.serial(port, baud=BAUD, parity="N", stopbits=2)
    devices = [
        ModbusDevice(f"sdm630-{u:02d}", model, u, link, requests=requests)
        for u in range(1, METERS + 1)
    ]
    assert all(d.requests == tuple(requests) for d in devices)
    done: list[float] = []
    full = len(model.registers)

    async def sink(readings: Sequence[Reading]) -> None:
        if len(readings) == full:
            done.append(time.monotonic())

    async def close() -> None:
        await link.close()

    sched = BusScheduler(
        "rs485",
        devices,
        period_s=0.0,
        jitter=0.0,
        sink=sink,
        on_event=lambda e: None,
        registry=CollectorRegistry(),
        on_close=close,
    )
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(seconds)
    sched.stop()
    await task
    errors = sum(h.failures for h in sched.health().values())
    # steady state: from the first completed read to the last
    rate = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 else 0.0
    return rate, errors, requests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    model = ModelCatalog().get("eastron-sdm630")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        link = Path(tmp) / "ttyRS485"
        sim = start_rtu_simulator(link, f"1-{METERS}", "eastron-sdm630", baud=BAUD)
        try:
            for strategy in ("planned", "register-by-register"):
                rate, errors, requests = asyncio.run(measure(str(link), strategy, args.seconds))
                limit = 1 / meter_read_s(
                    requests, baud=BAUD, bits_per_char=BITS, silence_s=model.limits.silence_s
                )
                results[strategy] = rate
                time.sleep(1.0)  # let an answer to a request cut short by stop() go by
                print(
                    f"{strategy:22s} {len(requests):2d} requests/meter  "
                    f"achieved {rate:6.3f} full reads/s  physical max {limit:6.3f}/s  "
                    f"ratio {rate / limit:5.3f}  errors {errors}"
                )
        finally:
            sim.terminate()
            sim.wait()
    gain = results["planned"] / results["register-by-register"]
    print(
        f"planned / register-by-register: {gain:.2f}x"
        f"  ({METERS} SDM630 x {len(model.registers)} values, {BAUD} baud 8E1, 60 ms silence)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
