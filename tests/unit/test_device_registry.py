"""The gateway's device registry reads the pollers' records and sends one event per outage edge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from contract.mqtt import Event
from gateway.health import DeviceRegistry
from gateway.metrics import GatewayCollector
from gateway.outbox import Outbox
from gateway.polling.health import DeviceHealth, HealthEvent, State
from gateway.polling.synthetic import SyntheticMeterSource
from gateway.settings import SyntheticMeter
from tests.support.aio import run_async

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def change(device: str, state: State, previous: State, s: float, kind: str = "") -> HealthEvent:
    return HealthEvent("lan", device, state, previous, at(s), error_kind=kind, detail="refused")


class Setup:
    def __init__(self, *records: DeviceHealth) -> None:
        self.records = list(records)
        self.events: list[Event] = []
        self.registry = DeviceRegistry(
            "gw-1", records=lambda: self.records, publish=self.events.append
        )

    def kinds(self) -> list[tuple[str, str]]:
        return [(e.kind, e.subject) for e in self.events]


def test_one_down_and_one_up_per_outage() -> None:
    s = Setup()
    for event in (
        change("m1", "degraded", "ok", 1, "timeout"),
        change("m1", "down", "degraded", 2, "timeout"),
        change("m1", "ok", "down", 10),
        change("m1", "degraded", "ok", 20, "crc"),
        change("m1", "ok", "degraded", 21),
    ):
        s.registry.on_health(event)
    assert s.kinds() == [("device_down", "m1"), ("device_up", "m1")] * 2
    down, up = s.events[:2]
    assert (down.severity, down.ts, down.detail) == (
        "warning",
        at(1),
        {"bus": "lan", "kind": "timeout", "detail": "refused"},
    )
    assert (up.severity, up.ts, up.detail) == ("info", at(10), {"bus": "lan", "down_s": 9.0})
    assert s.events[2].detail["kind"] == "crc"


def test_a_removed_device_is_forgotten() -> None:
    s = Setup()
    s.registry.on_health(change("m1", "degraded", "ok", 1, "timeout"))
    s.registry.retain(["m2"])
    s.registry.on_health(change("m1", "degraded", "ok", 5, "timeout"))
    assert s.kinds() == [("device_down", "m1")] * 2


def test_snapshot_is_a_sorted_copy_of_the_live_records() -> None:
    b, a = DeviceHealth("b"), DeviceHealth("a")
    a.errors["timeout"] = 1
    s = Setup(b, a)
    snap = s.registry.snapshot()
    a.errors["timeout"] = 2
    a.reads = 9
    assert [h.device_id for h in snap] == ["a", "b"]
    assert (snap[0].errors, snap[0].reads) == ({"timeout": 1}, 0)
    assert s.registry.snapshot()[0].reads == 9


def test_up_means_the_last_read_worked() -> None:
    h = DeviceHealth("m1")
    assert not h.up  # not read yet
    h.record_ok(3, at(1))
    assert h.up
    h.consecutive_failures = 1
    assert not h.up


@run_async
async def test_a_synthetic_meter_counts_its_reads_in_its_record() -> None:
    spec = SyntheticMeter(id="syn-a", period_s=0.001, count=5, samples_per_read=2)
    submitted: list[int] = []

    async def submit(readings: Any, *, checkpoint: tuple[str, str]) -> None:
        submitted.append(len(readings))

    source = SyntheticMeterSource(
        spec, submit=submit, position=lambda _key: None, wall=lambda: at(3)
    )
    assert not source.health.up
    await asyncio.wait_for(source.run(asyncio.Event()), 5)
    h = source.health
    assert submitted == [4, 4, 2]
    assert (h.reads, h.readings, h.failures, h.last_ok_at) == (3, 10, 0, at(3))
    assert h.up


class _Uplink:
    published = 0
    acks_pending = 0
    awaiting_central = 0
    resent_unconfirmed = 0
    connected = True


def test_device_metrics_are_the_records_counters(tmp_path: Path) -> None:
    dead, live = DeviceHealth("dead"), DeviceHealth("live")
    dead.state, dead.reads, dead.failures, dead.consecutive_failures = "down", 4, 4, 4
    dead.errors = {"connection": 3, "timeout": 1}
    live.reads, live.failures = 6, 1
    live.record_ok(2, at(5))
    s = Setup(dead, live)
    outbox = Outbox(tmp_path / "outbox.db", gateway_id="gw-1")
    try:
        registry = CollectorRegistry()
        registry.register(GatewayCollector(outbox, s.registry, _Uplink()))

        def value(name: str, **labels: str) -> float | None:
            return registry.get_sample_value(name, labels)

        assert value("m2c_device_up", device="dead") == 0
        assert value("m2c_device_up", device="live") == 1
        assert value("m2c_device_reads_total", device="dead") == 0
        assert value("m2c_device_reads_total", device="live") == 6  # 7 reads, 1 failed
        assert value("m2c_device_errors_total", device="dead", kind="connection") == 3
        assert value("m2c_device_errors_total", device="dead", kind="timeout") == 1
        assert value("m2c_device_last_success_timestamp_seconds", device="dead") is None
        assert value("m2c_device_last_success_timestamp_seconds", device="live") == (
            at(5).timestamp()
        )
    finally:
        outbox.close()
