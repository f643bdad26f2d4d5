"""Properties of a serial bus scheduler under random meters, in virtual time."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from contract.mqtt import Reading
from gateway.polling.device import DeviceError
from gateway.polling.health import Backoff
from gateway.polling.scheduler import BusScheduler
from tests.support.fakeclock import FakeClock

BACKOFF = Backoff(down_after=3, initial_s=20.0, max_s=40.0)


class ScriptedMeter:
    def __init__(
        self, clock: FakeClock, i: int, latency: float, silence: float, script: list[bool]
    ) -> None:
        self.clock = clock
        self._id = f"m{i}"
        self.latency = latency
        self._silence = silence
        self.script = itertools.cycle(script)
        self.log: list[tuple[float, float, bool]] = []  # start, end, ok

    @property
    def device_id(self) -> str:
        return self._id

    @property
    def silence_s(self) -> float:
        return self._silence

    @property
    def timeout_s(self) -> float:
        return 0.5

    async def read(self) -> Sequence[Reading]:
        start = self.clock.now
        ok = next(self.script)
        await self.clock.sleep(self.latency if ok else self.timeout_s)
        self.log.append((start, self.clock.now, ok))
        if not ok:
            raise DeviceError(self._id, "timeout")
        return []


meters_st = st.lists(
    st.tuples(
        st.floats(0.01, 0.4),
        st.floats(0.0, 0.1),
        st.lists(st.booleans(), min_size=1, max_size=6),
    ),
    min_size=1,
    max_size=6,
)


@given(meters_st, st.floats(0.5, 5.0), st.integers(0, 1000))
@settings(max_examples=25, deadline=None)
def test_serial_bus_invariants(
    specs: list[tuple[float, float, list[bool]]], period: float, seed: int
) -> None:
    clock = FakeClock()
    meters = [ScriptedMeter(clock, i, *spec) for i, spec in enumerate(specs)]

    async def sink(readings: Sequence[Reading]) -> None:
        return None

    sched = BusScheduler(
        "bus",
        meters,
        period_s=period,
        sink=sink,
        on_event=lambda e: None,
        registry=CollectorRegistry(),
        backoff=BACKOFF,
        clock=clock,
        sleep=clock.sleep,
        wall=clock.wall,
        rng=random.Random(seed),
    )

    async def main() -> None:
        task = asyncio.create_task(sched.run())
        await clock.run_for(150.0)
        sched.stop()
        await clock._settle()
        await task

    asyncio.run(main())
    transactions = sorted((s, e, m) for m in meters for s, e, _ in m.log)
    for (_, end, m), (nxt, _, _) in itertools.pairwise(transactions):
        assert nxt >= end + m.silence_s - 1e-9  # one at a time, silence kept
    health = sched.health()
    for m in meters:
        assert m.log, "every meter is read"
        h = health[m.device_id]
        assert h.reads == len(m.log)
        assert h.failures == sum(not ok for _, _, ok in m.log)
        run = 0
        for (s0, _, ok0), (s1, _, _) in itertools.pairwise(m.log):
            run = 0 if ok0 else run + 1
            if run >= BACKOFF.down_after:  # down: tried at most once per back-off period
                assert s1 - s0 >= BACKOFF.initial_s - 1e-9
