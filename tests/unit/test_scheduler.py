from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from contract.mqtt import Reading
from gateway.polling.device import DeviceError
from gateway.polling.health import Backoff, DeviceHealth, HealthEvent
from gateway.polling.scheduler import BusScheduler
from tests.support.aio import run_async
from tests.support.fakeclock import FakeClock


class FakeMeter:
    """A device whose read takes ``latency`` of virtual time; ``dead`` makes it time out."""

    def __init__(
        self, clock: FakeClock, device_id: str, *, latency: float = 0.1, silence: float = 0.06
    ) -> None:
        self.clock = clock
        self._id = device_id
        self.latency = latency
        self._silence = silence
        self.timeout = 0.5
        self.dead = False
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.active = 0
        self.bus_active: list[int] | None = None

    @property
    def device_id(self) -> str:
        return self._id

    @property
    def silence_s(self) -> float:
        return self._silence

    @property
    def timeout_s(self) -> float:
        return self.timeout

    async def read(self) -> Sequence[Reading]:
        self.starts.append(self.clock.now)
        if self.bus_active is not None:
            self.bus_active[0] += 1
            self.bus_active[1] = max(self.bus_active[1], self.bus_active[0])
        try:
            if self.dead:
                await self.clock.sleep(self.timeout)
                raise DeviceError(self._id, "timeout", "no answer")
            await self.clock.sleep(self.latency)
            return [
                Reading(
                    meter_id=self._id,
                    quantity="energy_import",
                    value=self.clock.now,
                    unit="kWh",
                    ts=self.clock.wall(),
                )
            ]
        finally:
            self.ends.append(self.clock.now)
            if self.bus_active is not None:
                self.bus_active[0] -= 1


class Harness:
    def __init__(self, n: int, **kw: object) -> None:
        self.clock = FakeClock()
        self.meters = [FakeMeter(self.clock, f"m{i}") for i in range(n)]
        self.got: list[Reading] = []
        self.events: list[HealthEvent] = []
        self.registry = CollectorRegistry()
        self.closed = False

        async def sink(readings: Sequence[Reading]) -> None:
            self.got.extend(readings)

        async def on_close() -> None:
            self.closed = True

        self.sched = BusScheduler(
            "bus1",
            self.meters,
            sink=sink,
            on_event=self.events.append,
            registry=self.registry,
            clock=self.clock,
            sleep=self.clock.sleep,
            wall=self.clock.wall,
            rng=random.Random(1),
            on_close=on_close,
            **kw,  # type: ignore[arg-type]
        )

    async def run(self, seconds: float) -> None:
        task = asyncio.create_task(self.sched.run())
        await self.clock.run_for(seconds)
        self.sched.stop()
        await self.clock._settle()
        await asyncio.wait_for(task, 1)


@run_async
async def test_serial_bus_one_at_a_time_with_silence_and_stagger() -> None:
    h = Harness(3, period_s=1.0, jitter=0.0)
    spans: list[tuple[float, float]] = []
    await h.run(10.0)
    for m in h.meters:
        spans.extend(zip(m.starts, m.ends, strict=True))
        assert 9 <= len(m.starts) <= 11
    spans.sort()
    for (_, end), (nxt, _) in itertools.pairwise(spans):
        assert nxt >= end + 0.06 - 1e-9  # strictly one at a time, silence kept
    assert [m.starts[0] for m in h.meters] == pytest.approx([0.0, 1 / 3, 2 / 3])
    assert len(h.got) >= sum(len(m.starts) for m in h.meters) - 1  # one cut short by stop
    assert h.closed


@run_async
async def test_jittered_periods_do_not_drift() -> None:
    h = Harness(1, period_s=10.0, jitter=0.1)
    await h.run(1000.0)
    starts = h.meters[0].starts
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(set(gaps)) > 5  # jittered
    assert all(8.0 - 1e-9 <= g <= 12.0 + 1e-9 for g in gaps)
    assert 99 <= len(starts) <= 101  # no drift


@run_async
async def test_dead_meter_is_backed_off_and_others_keep_their_period() -> None:
    h = Harness(4, period_s=1.0, jitter=0.0, backoff=Backoff(down_after=3, initial_s=30, max_s=60))
    h.meters[2].dead = True
    with capture_logs() as logs:
        await h.run(300.0)
    dead = h.meters[2]
    # 3 tries at the period, then one per back-off period (30 s, then 60 s)
    assert len(dead.starts) <= 3 + 1 + 5
    health = h.sched.health()
    assert health["m2"].state == "down"
    assert health["m2"].errors == {"timeout": len(dead.starts)}
    assert health["m0"].state == "ok"
    for m in (h.meters[0], h.meters[1], h.meters[3]):
        gaps = [b - a for a, b in zip(m.starts, m.starts[1:], strict=False)]
        # a probe of the dead meter costs its timeout + silence at most
        assert max(gaps) <= 1.0 + 0.5 + 0.06 + 1e-9
        assert len(m.starts) >= 290
    assert [(e.previous, e.state) for e in h.events] == [("ok", "degraded"), ("degraded", "down")]
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["device"] == "m2"
    sample = h.registry.get_sample_value
    assert sample("m2c_poll_device_state", {"bus": "bus1", "device": "m2"}) == 2
    assert sample(
        "m2c_poll_errors_total", {"bus": "bus1", "device": "m2", "kind": "timeout"}
    ) == len(dead.starts)


@run_async
async def test_flapping_meter_logs_once_per_outage_and_reports_recovery() -> None:
    h = Harness(1, period_s=1.0, jitter=0.0)
    meter = h.meters[0]
    task = asyncio.create_task(h.sched.run())
    with capture_logs() as logs:
        await h.clock.run_for(2.5)
        meter.dead = True
        await h.clock.run_for(2.2)  # two failures: degraded, not down
        meter.dead = False
        await h.clock.run_for(3.0)
        meter.dead = True
        await h.clock.run_for(1.0)
    h.sched.stop()
    await h.clock._settle()
    await task
    kinds = [(e["log_level"], e["event"]) for e in logs if e["log_level"] in ("warning", "info")]
    assert kinds.count(("warning", "device not answering")) == 2
    assert kinds.count(("info", "device recovered")) == 1
    assert [(e.previous, e.state) for e in h.events] == [
        ("ok", "degraded"),
        ("degraded", "ok"),
        ("ok", "degraded"),
    ]
    assert h.sched.health()["m0"].failures == 3


@run_async
async def test_concurrent_bus_respects_its_bound() -> None:
    h = Harness(10, period_s=0.0, jitter=0.0, exclusive=False, concurrency=3)
    counter = [0, 0]
    for m in h.meters:
        m.bus_active = counter
        m._silence = 0.0
    await h.run(5.0)
    assert counter[1] == 3
    assert all(len(m.starts) >= 10 for m in h.meters)


@run_async
async def test_overrun_is_counted_not_burst() -> None:
    h = Harness(5, period_s=0.2, jitter=0.0)  # 5 x 0.16 s per round > 0.2 s period
    await h.run(20.0)
    health = h.sched.health()
    assert sum(x.overruns for x in health.values()) > 0
    for m in h.meters:
        gaps = [b - a for a, b in zip(m.starts, m.starts[1:], strict=False)]
        assert min(gaps) >= 0.16 * 4  # round robin: the others read in between


@run_async
async def test_failing_sink_does_not_stop_polling() -> None:
    clock = FakeClock()
    meter = FakeMeter(clock, "m0")
    calls = 0

    async def sink(readings: Sequence[Reading]) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("outbox full")

    sched = BusScheduler(
        "b",
        [meter],
        period_s=1.0,
        sink=sink,
        on_event=lambda e: None,
        registry=CollectorRegistry(),
        clock=clock,
        sleep=clock.sleep,
        wall=clock.wall,
    )
    task = asyncio.create_task(sched.run())
    await clock.run_for(5.0)
    sched.stop()
    await clock._settle()
    await task
    assert calls >= 5


def test_bad_arguments_are_refused() -> None:
    clock = FakeClock()

    async def sink(readings: Sequence[Reading]) -> None:
        return None

    with pytest.raises(ValueError, match="repeat"):
        BusScheduler(
            "b",
            [FakeMeter(clock, "x"), FakeMeter(clock, "x")],
            period_s=1,
            sink=sink,
            on_event=lambda e: None,
            registry=CollectorRegistry(),
        )


def test_event_timestamps_are_aware() -> None:
    assert FakeClock().wall().tzinfo is UTC
    assert isinstance(FakeClock().wall(), datetime)


@run_async
async def test_a_crashing_device_costs_its_read_not_the_bus() -> None:
    h = Harness(2, period_s=1.0, jitter=0.0)

    async def boom() -> Sequence[Reading]:
        raise ZeroDivisionError("bug")

    h.meters[0].read = boom  # type: ignore[method-assign]
    await h.run(5.0)
    health = h.sched.health()
    assert health["m0"].errors["internal"] >= 3
    assert len(h.meters[1].starts) >= 4


@run_async
async def test_read_now_wakes_a_device_early_even_when_backed_off() -> None:
    h = Harness(2, period_s=100.0, jitter=0.0)
    task = asyncio.create_task(h.sched.run())
    await h.clock.run_for(10.0)
    assert [len(m.starts) for m in h.meters] == [1, 0]  # m1 is due at 50 s
    assert h.sched.read_now("m1") == ["m1"]
    assert h.sched.read_now("nope") == []
    await h.clock.run_for(1.0)
    assert h.meters[1].starts == [pytest.approx(10.0)]
    h.meters[0].dead = True
    await h.clock.run_for(400.0)  # m0 fails three times and is backed off (30 s doubling)
    assert h.sched.health()["m0"].state == "down"
    tries = len(h.meters[0].starts)
    h.sched.read_now()
    await h.clock.run_for(1.0)
    assert len(h.meters[0].starts) == tries + 1
    h.sched.stop()
    await h.clock._settle()
    await task


@run_async
async def test_devices_may_have_their_own_periods() -> None:
    h = Harness(2, period_s=1.0, periods={"m1": 10.0}, jitter=0.0)
    await h.run(100.0)
    assert 95 <= len(h.meters[0].starts) <= 101
    assert 9 <= len(h.meters[1].starts) <= 11


@run_async
async def test_a_replacing_scheduler_carries_the_outage_and_the_counters_on() -> None:
    dead = Harness(1, period_s=1.0, jitter=0.0, backoff=Backoff(3, 30, 30))
    dead.meters[0].dead = True
    await dead.run(5.0)
    old = dead.sched.health()["m0"]
    assert (old.state, old.reads, old.failures) == ("down", 3, 3)
    # restart_bus: a new scheduler takes the old one's records; the meter answers again
    fresh = Harness(1, period_s=1.0, jitter=0.0, records=dead.sched.health())
    await fresh.run(2.5)
    h = fresh.sched.health()["m0"]
    assert h is old
    assert (h.state, h.failures, h.consecutive_failures) == ("ok", 3, 0)
    assert h.reads == 3 + len(fresh.meters[0].starts)
    # the good first read ends the outage with an event, as it would have without the restart
    assert [(e.state, e.previous) for e in fresh.events] == [("ok", "down")]
    assert (
        fresh.registry.get_sample_value("m2c_poll_device_state", {"bus": "bus1", "device": "m0"})
        == 0
    )


def test_a_new_tracker_shows_a_carried_record_state_in_its_gauge() -> None:
    record = DeviceHealth("m0", state="down")
    h = Harness(1, period_s=1.0, records={"m0": record})
    value = h.registry.get_sample_value("m2c_poll_device_state", {"bus": "bus1", "device": "m0"})
    assert value == 2
