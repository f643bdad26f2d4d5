"""Modbus TCP scale: 500 simulated SDM630 on loopback, each on its own port, read in full.

Three processes: the simulators (the other core), and one after the other a gateway side per
client — the project's own client (:mod:`drivers.modbus.tcp_client`) and, side by side, the same
scheduler, planner, decoder and readings on pymodbus's ``AsyncModbusTcpClient``. Each gateway
side runs alone in its process on one core. Printed per client: points (readings) per second,
the gateway's CPU use, points per CPU-second, peak RSS; then the ratios to each other and to the
goal of 100,000 points/s under 100 MB.

    python -m tests.bench.bench_modbus_tcp [--meters 500] [--seconds 20] [--clients ours,pymodbus]
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
from typing import Any

from prometheus_client import CollectorRegistry

from contract.mqtt import Reading
from drivers.modbus.planner import Request
from gateway.polling.config import PollingConfig
from gateway.polling.device import DeviceError
from gateway.polling.factory import build_schedulers
from gateway.polling.modbus import ModbusDevice, ModbusLink
from m2c import logs
from tests.bench.modbus_common import peak_rss_mb

GOAL_POINTS_S = 100_000
GOAL_RSS_MB = 100


async def serve(n: int) -> None:
    from simulators.modbus.meter import MeterSpec
    from simulators.modbus.tcp import ModbusTcpSimulator

    sims = [ModbusTcpSimulator([MeterSpec(1, "eastron-sdm630", seed=i)]) for i in range(n)]
    for s in sims:
        await s.start()
    print(json.dumps([s.port for s in sims]), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


class PymodbusTcpLink(ModbusLink):
    """The peer: the same link interface on pymodbus's asyncio TCP client."""

    def __init__(self, host: str, port: int) -> None:
        from pymodbus.client import AsyncModbusTcpClient

        self.name = f"{host}:{port}"
        self.client = AsyncModbusTcpClient(host, port=port, timeout=3, retries=0, reconnect_delay=0)

    async def ensure(self, device_id: str) -> None:
        if not self.client.connected and not await self.client.connect():
            raise DeviceError(device_id, "connection", f"cannot open {self.name}")

    async def transact(self, device_id: str, unit: int, req: Request, *, timeout_s: float) -> bytes:
        c = self.client
        call = c.read_input_registers if req.fc == 4 else c.read_holding_registers
        async with asyncio.timeout(timeout_s):
            resp = await call(req.address, count=req.count, device_id=unit)
        if resp.isError():
            raise DeviceError(device_id, "exception_code", str(resp))
        return b"".join(w.to_bytes(2, "big") for w in resp.registers)

    async def close(self) -> None:
        self.client.close()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def poll(ports: list[int], seconds: float, concurrency: int, client: str) -> dict[str, Any]:
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

    async def sink(readings: Sequence[Reading]) -> None:
        nonlocal count
        count += len(readings)

    (sched,) = build_schedulers(
        cfg.buses, sink=sink, on_event=lambda e: None, registry=CollectorRegistry()
    )
    peers: list[PymodbusTcpLink] = []
    if client == "pymodbus":
        for dev, p in zip(sched.devices, ports, strict=True):
            assert isinstance(dev, ModbusDevice)
            dev.link = PymodbusTcpLink("127.0.0.1", p)
            peers.append(dev.link)
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(2.0)  # connect and warm up
    start_points, t0, cpu0 = count, time.monotonic(), time.process_time()
    await asyncio.sleep(seconds)
    points, wall, cpu = count - start_points, time.monotonic() - t0, time.process_time() - cpu0
    sched.stop()
    await task
    for link in peers:
        await link.close()
    return {
        "client": client,
        "points_s": points / wall,
        "cpu": cpu / wall,
        "errors": sum(h.failures for h in sched.health().values()),
        "rss_mb": peak_rss_mb(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--clients", default="ours,pymodbus", help="comma-separated, in order")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--poll", help=argparse.SUPPRESS)  # a client name; ports on stdin
    args = parser.parse_args(argv)
    logs.configure("warning", stream=sys.stderr)
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0
    if args.poll:
        ports = json.loads(sys.stdin.readline())
        print(json.dumps(asyncio.run(poll(ports, args.seconds, args.concurrency, args.poll))))
        return 0
    me = [sys.executable, "-m", "tests.bench.bench_modbus_tcp"]
    sim = subprocess.Popen(
        [*me, "--serve", str(args.meters)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert sim.stdout is not None
    assert sim.stdin is not None
    ports_line = sim.stdout.readline()
    results = []
    try:
        for client in args.clients.split(","):
            sim0 = _cpu_s(sim.pid)
            t0 = time.monotonic()
            out = subprocess.run(
                [*me, "--poll", client, "--seconds", str(args.seconds),
                 "--concurrency", str(args.concurrency)],
                input=ports_line, stdout=subprocess.PIPE, check=True,
            ).stdout  # fmt: skip
            result = json.loads(out)
            result["sim_cpu"] = (_cpu_s(sim.pid) - sim0) / (time.monotonic() - t0)
            results.append(result)
    finally:
        sim.stdin.close()
        sim.wait(10)
    print(f"{args.meters} SDM630 (15 values, 2 requests each) over Modbus TCP, concurrency "
          f"{args.concurrency}, {args.seconds:g} s each:")  # fmt: skip
    for r in results:
        per_cpu = r["points_s"] / r["cpu"] if r["cpu"] else 0.0
        print(
            f"  {r['client']:>9}: {r['points_s']:>9,.0f} points/s, gateway CPU {r['cpu']:.2f} "
            f"cores, {per_cpu:>9,.0f} points per CPU-second, peak RSS {r['rss_mb']:.0f} MB, "
            f"errors {r['errors']} (simulators {r['sim_cpu']:.2f} cores)"
        )
        print(
            f"             goal {GOAL_POINTS_S:,} points/s under {GOAL_RSS_MB} MB: "
            f"{r['points_s'] / GOAL_POINTS_S:.2f} of the rate, {r['rss_mb'] / GOAL_RSS_MB:.2f} "
            f"of the memory"
        )
    if len(results) == 2 and results[1]["points_s"]:
        a, b = results
        print(
            f"  {a['client']} / {b['client']}: {a['points_s'] / b['points_s']:.2f}x the points/s, "
            f"{(a['points_s'] / a['cpu']) / (b['points_s'] / b['cpu']):.2f}x per CPU-second"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
