"""Eight SDM630 behind one Modbus TCP address, one of them behind a broken gateway.

The simulator cuts one meter's answers after their byte count (the MBAP header still announces
the whole answer, so the next answer on the connection seems to complete it), or puts a wrong
length into their MBAP header. No value may come from a broken answer, and the seven healthy
meters must not be knocked down by it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest
from prometheus_client import CollectorRegistry

from contract.mqtt import Reading
from gateway.polling.config import PollingConfig
from gateway.polling.factory import build_schedulers
from gateway.polling.health import Backoff, HealthEvent
from simulators.modbus.faults import parse_faults
from simulators.modbus.meter import MeterSpec
from simulators.modbus.tcp import ModbusTcpSimulator
from tests.support.aio import run_async

# What a real SDM630 can show (the simulator's values stay well inside).
SANE: dict[str, tuple[float, float]] = {
    "voltage": (200.0, 260.0),
    "current": (0.0, 100.0),
    "power_active": (0.0, 20_000.0),
    "power_factor_total": (0.5, 1.0),
    "frequency": (49.0, 51.0),
    "energy": (1.0, 10_000_000.0),
}


def insane(reading: Reading) -> bool:
    for prefix, (lo, hi) in SANE.items():
        if reading.quantity.startswith(prefix):
            return not lo <= reading.value <= hi
    raise AssertionError(f"unexpected quantity {reading.quantity}")


def config(port: int, serial_gateway: bool) -> PollingConfig:
    return PollingConfig.model_validate(
        {
            "buses": [
                {
                    "kind": "modbus-tcp",
                    "name": "plant",
                    "port": port,
                    "period_s": 0.02,
                    "jitter": 0,
                    "serial_gateway": serial_gateway,
                    # healthy meters wait long: on a loaded machine a slow answer is no fault
                    "meters": [
                        {
                            "id": f"e{u}",
                            "model": "eastron-sdm630",
                            "unit_id": u,
                            "overrides": {"timeout_ms": 500 if u == 3 else 5000},
                        }
                        for u in range(1, 9)
                    ],
                }
            ]
        }
    )


@pytest.mark.parametrize(
    ("fault", "serial_gateway"),
    [("truncate=0.3", False), ("wrong_length=0.3", False), ("truncate=0.3", True)],
    ids=["truncate", "wrong_length", "truncate-one-at-a-time"],
)
@run_async
async def test_a_broken_answer_is_never_a_value_and_neighbours_stay_up(
    fault: str, serial_gateway: bool
) -> None:
    meters = [
        MeterSpec(u, "eastron-sdm630", faults=parse_faults(fault) if u == 3 else parse_faults(""))
        for u in range(1, 9)
    ]
    got: list[Reading] = []
    events: list[HealthEvent] = []

    done = asyncio.Event()
    enough: Callable[[], bool] = lambda: False  # noqa: E731 - set once the scheduler exists

    async def sink(readings: Sequence[Reading]) -> None:
        got.extend(readings)
        if enough():
            done.set()

    async with ModbusTcpSimulator(meters, seed=7) as sim:
        (sched,) = build_schedulers(
            config(sim.port, serial_gateway).buses,
            sink=sink,
            on_event=events.append,
            registry=CollectorRegistry(),
            backoff=Backoff(initial_s=0.05, max_s=0.05),  # the broken meter is tried on and on
        )
        task = asyncio.create_task(sched.run())
        health = sched.health()
        try:
            # enough broken answers of meter 3, some good ones, and every meter read many times
            enough = lambda: (  # noqa: E731
                sim.injected[fault.split("=")[0]] >= 6
                and all(health[f"e{u}"].reads >= 12 for u in (1, 2, 4, 5, 6, 7, 8))
                and health["e3"].readings > 0
            )
            await asyncio.wait_for(done.wait(), 60)
        finally:
            sched.stop()
            await asyncio.wait_for(task, 10)

    bad = [r for r in got if insane(r)]
    assert not bad, f"values from broken answers: {bad[:5]}"
    healthy = [f"e{u}" for u in (1, 2, 4, 5, 6, 7, 8)]
    for meter in healthy:
        h = health[meter]
        assert h.failures == 0, (meter, h.errors, h.last_error)
        assert h.readings == 15 * h.reads
    assert not [e for e in events if e.device_id in healthy], events
    # the broken meter's reads failed as what they were, its good ones were stored
    broken = health["e3"]
    # one at a time, the cut answer waits for bytes that never come (a timeout) until the
    # next request's answer arrives and shows the cut; overlapping, the next answer is there
    assert broken.errors.get("timeout" if serial_gateway else "protocol", 0) >= 1, broken.errors
    assert "bad MBAP header (protocol 0, length 0)" not in broken.last_error
    assert any(r.meter_id == "e3" for r in got)
