"""Modbus TCP scale: 500 simulated SDM630 on loopback, each on its own port, read in full.

The simulators run in a child process (the other core); the gateway side — pymodbus clients,
planner, decoder, scheduler, readings — runs in this process on one core. Printed: points
(readings) per second, the gateway's CPU use, and its peak RSS.

    python -m tests.bench.bench_modbus_tcp [--meters 500] [--seconds 20] [--concurrency 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry

from contract.mqtt import Reading
from gateway.polling.config import PollingConfig
from gateway.polling.factory import build_schedulers
from m2c import logs
from tests.bench.modbus_common import peak_rss_mb


async def serve(n: int) -> None:
    from simulators.modbus.meter import MeterSpec
    from simulators.modbus.tcp import ModbusTcpSimulator

    sims = [ModbusTcpSimulator([MeterSpec(1, "eastron-sdm630", seed=i)]) for i in range(n)]
    for s in sims:
        await s.start()
    print(json.dumps([s.port for s in sims]), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def poll(
    ports: list[int], seconds: float, concurrency: int, sim_pid: int
) -> tuple[int, int, float, float]:
    cfg = PollingConfig.model_validate(
        {
            "buses": [
                {
                    "kind": "modbus-tcp",
                    "name": "plant",
                    "period_s": 0,
                    "jitter": 0,
                    "concurrency": concurrency,
                    "meters": [
                        {"id": f"m{i:03d}", "model": "eastron-sdm630", "port": p}
                        for i, p in enumerate(ports)
                    ],
                }
            ]
        }
    )
    count = 0
    window: list[int] = []

    async def sink(readings: Sequence[Reading]) -> None:
        nonlocal count
        count += len(readings)

    (sched,) = build_schedulers(
        cfg.buses, sink=sink, on_event=lambda e: None, registry=CollectorRegistry()
    )
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(2.0)  # connect and warm up
    start_points, t0, cpu0, sim0 = count, time.monotonic(), time.process_time(), _cpu_s(sim_pid)
    await asyncio.sleep(seconds)
    points, wall, cpu = count - start_points, time.monotonic() - t0, time.process_time() - cpu0
    sim_cpu = _cpu_s(sim_pid) - sim0
    window.append(points)
    sched.stop()
    await task
    errors = sum(h.failures for h in sched.health().values())
    return int(points / wall), errors, cpu / wall, sim_cpu / wall


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument(
        "--uvloop",
        action="store_true",
        help="run the gateway side on uvloop, if installed (not a project dependency)",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logs.configure("warning", stream=sys.stderr)
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.bench_modbus_tcp", "--serve", str(args.meters)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    ports = json.loads(child.stdout.readline())
    try:
        job = poll(ports, args.seconds, args.concurrency, child.pid)
        if args.uvloop:
            import uvloop

            rate, errors, cpu, sim_cpu = uvloop.run(job)
        else:
            rate, errors, cpu, sim_cpu = asyncio.run(job)
    finally:
        child.stdin.close()
        child.wait(10)
    print(
        f"{args.meters} SDM630 (15 values, 2 requests each) over Modbus TCP"
        f"{' on uvloop' if args.uvloop else ''}, concurrency "
        f"{args.concurrency}: {rate:,} points/s, gateway CPU {cpu:.2f} cores, "
        f"peak RSS {peak_rss_mb():.0f} MB, errors {errors} (simulator CPU {sim_cpu:.2f} cores)"
    )
    per_core = rate / cpu if cpu else 0.0
    print(
        f"points per gateway CPU-second {per_core:,.0f}; goal 100,000 points/s under 100 MB: "
        f"achieved {rate / 100_000:.2f}, per full core {per_core / 100_000:.2f} of it"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
