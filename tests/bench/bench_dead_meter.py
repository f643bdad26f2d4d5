"""A dead meter on a busy RS-485 line: how much longer do the other meters' periods get?

32 SDM630 on one 9600 baud line with wire timing, polled as fast as the line allows (each
read in full). First every meter answers; then meter 7 stops answering. A dead meter is tried
at its period until it is *down* (``down_after`` failures), then once per back-off period, so
it should cost the others at most one timeout (plus the silence) per back-off period.

    python -m tests.bench.bench_dead_meter [--seconds 80] [--backoff 20] [--timeout-ms 500]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from contract.mqtt import Reading
from gateway.polling.config import PollingConfig
from gateway.polling.factory import build_schedulers
from gateway.polling.health import Backoff, HealthEvent
from m2c import logs
from simulators.modbus.faults import Faults
from simulators.modbus.meter import MeterSpec
from simulators.modbus.rtu import ModbusRtuSimulator

METERS = 32
DEAD = 7
BAUD = 9600


def periods(stamps: dict[str, list[float]], since: float, until: float) -> list[float]:
    out: list[float] = []
    for meter, ts in stamps.items():
        if meter == f"m{DEAD:02d}":
            continue
        window = [t for t in ts if since <= t <= until]
        out += [b - a for a, b in itertools.pairwise(window)]
    return out


async def run(seconds: float, backoff_s: float, timeout_ms: int, baseline_s: float) -> None:
    specs = [MeterSpec(u, "eastron-sdm630") for u in range(1, METERS + 1)]
    async with ModbusRtuSimulator(specs, baud=BAUD, bits_per_char=11, wire_timing=True) as sim:
        cfg = PollingConfig.model_validate(
            {
                "buses": [
                    {
                        "kind": "modbus-rtu",
                        "name": "rs485",
                        "port": sim.port,
                        "baud": BAUD,
                        "parity": "N",
                        "stopbits": 2,
                        "period_s": 0,
                        "jitter": 0,
                        "meters": [
                            {
                                "id": f"m{u:02d}",
                                "model": "eastron-sdm630",
                                "unit_id": u,
                                "overrides": {"timeout_ms": timeout_ms},
                            }
                            for u in range(1, METERS + 1)
                        ],
                    }
                ]
            }
        )
        stamps: dict[str, list[float]] = {}

        async def sink(readings: Sequence[Reading]) -> None:
            stamps.setdefault(readings[0].meter_id, []).append(time.monotonic())

        went_down = asyncio.Event()

        def on_event(event: HealthEvent) -> None:
            if event.device_id == f"m{DEAD:02d}" and event.state == "down":
                went_down.set()

        (sched,) = build_schedulers(
            cfg.buses,
            sink=sink,
            on_event=on_event,
            registry=CollectorRegistry(),
            backoff=Backoff(down_after=3, initial_s=backoff_s, max_s=backoff_s),
        )
        task = asyncio.create_task(sched.run())
        t0 = time.monotonic()
        await asyncio.sleep(baseline_s)
        t_dead = time.monotonic()
        sim.bus.meters[DEAD].faults = Faults(no_answer=1.0)
        dead_health = sched.health()[f"m{DEAD:02d}"]
        await went_down.wait()
        t_down = time.monotonic()
        tries_at_down = dead_health.reads
        await asyncio.sleep(seconds)
        t_end = time.monotonic()
        sched.stop()
        await task
    probes = dead_health.reads - tries_at_down
    base = periods(stamps, t0 + 2, t_dead)
    dead = periods(stamps, t_down + 12, t_end)
    timeout = timeout_ms / 1000
    # one timeout and the meter's silence after it
    allowed = timeout + 0.06
    quiet = statistics.median(dead)
    print(
        f"{METERS} SDM630, {BAUD} baud 11 bits/char, full reads, timeout {timeout_ms} ms, "
        f"back-off {backoff_s:.0f} s; dead meter down after {t_down - t_dead:.1f} s "
        f"({tries_at_down} tries in all), then {probes} probes in {seconds:.0f} s"
    )
    print(
        f"others' period, all alive:        mean {statistics.mean(base):.3f} s  "
        f"max {max(base):.3f} s"
    )
    print(
        f"others' period, one meter down:   mean {statistics.mean(dead):.3f} s  "
        f"median {quiet:.3f} s  max {max(dead):.3f} s"
    )
    growth = max(dead) - quiet
    print(
        f"a probe of the dead meter lengthens the others' period by {growth * 1000:.0f} ms "
        f"(bound: one timeout + silence = {allowed * 1000:.0f} ms) -> "
        f"{'OK' if growth <= allowed + 0.02 else 'EXCEEDED'}; probes per back-off period "
        f"{probes / (seconds / backoff_s):.2f} (bound 1)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", type=float, default=25.0)
    parser.add_argument("--seconds", type=float, default=80.0, help="after the meter is down")
    parser.add_argument("--backoff", type=float, default=20.0)
    parser.add_argument("--timeout-ms", type=int, default=500)
    args = parser.parse_args(argv)
    logs.configure("warning")
    asyncio.run(run(args.seconds, args.backoff, args.timeout_ms, args.baseline))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
