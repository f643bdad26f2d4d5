"""Per-device health: a small state machine (ok / degraded / down), counters and metrics.

A device is *ok* after a good read, *degraded* after ``down_after - 1`` or fewer consecutive
failures, *down* after ``down_after``. A down device is tried once per back-off period, which
doubles up to a maximum, so a dead meter costs at most one timeout per back-off period.
An outage (from the first failure to the next good read) is logged once when it starts and once
when it ends, however often the device flaps in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal
from weakref import WeakKeyDictionary

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from gateway.polling.device import DeviceError

log = structlog.get_logger(__name__)

State = Literal["ok", "degraded", "down"]
STATE_VALUE: dict[State, int] = {"ok": 0, "degraded": 1, "down": 2}


@dataclass(frozen=True, slots=True)
class HealthEvent:
    """A device changed state. ``error_kind`` / ``detail`` describe the last failure."""

    bus: str
    device_id: str
    state: State
    previous: State
    ts: datetime
    error_kind: str = ""
    detail: str = ""
    consecutive_failures: int = 0


@dataclass(slots=True)
class DeviceHealth:
    """What a person looking at a device wants to know. A plain, mutable record."""

    device_id: str
    state: State = "ok"
    reads: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    readings: int = 0
    overruns: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    last_error: str = ""
    last_error_at: datetime | None = None
    last_ok_at: datetime | None = None
    outage_started_at: datetime | None = None

    @property
    def up(self) -> bool:
        """The last read worked (a device not read yet is not up)."""
        return self.last_ok_at is not None and self.consecutive_failures == 0

    def record_ok(self, readings: int, now: datetime) -> None:
        """Count a good read that produced ``readings``."""
        self.reads += 1
        self.readings += readings
        self.consecutive_failures = 0
        self.last_ok_at = now


@dataclass(frozen=True, slots=True)
class Backoff:
    down_after: int = 3
    initial_s: float = 30.0
    max_s: float = 300.0

    def delay(self, consecutive_failures: int) -> float:
        steps = max(0, consecutive_failures - self.down_after)
        return float(min(self.max_s, self.initial_s * (2 ** min(steps, 30))))


class PollMetrics:
    """The scheduler's Prometheus metrics, created once per registry."""

    _by_registry: ClassVar[WeakKeyDictionary[CollectorRegistry, PollMetrics]] = WeakKeyDictionary()

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["bus", "device"]
        self.reads = Counter("m2c_poll_reads", "Reads attempted", labels, registry=registry)
        self.errors = Counter(
            "m2c_poll_errors", "Failed reads by kind", [*labels, "kind"], registry=registry
        )
        self.readings = Counter("m2c_poll_readings", "Readings produced", labels, registry=registry)
        self.overruns = Counter(
            "m2c_poll_overruns",
            "Periods missed because the bus was busy",
            labels,
            registry=registry,
        )
        self.state = Gauge(
            "m2c_poll_device_state", "0 ok, 1 degraded, 2 down", labels, registry=registry
        )
        self.read_seconds = Histogram(
            "m2c_poll_read_seconds",
            "Duration of one device read",
            ["bus"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> PollMetrics:
        found = cls._by_registry.get(registry)
        if found is None:
            found = cls._by_registry[registry] = cls(registry)
        return found


class HealthTracker:
    """Moves one device's :class:`DeviceHealth` on each outcome; returns an event on change."""

    def __init__(
        self,
        bus: str,
        device_id: str,
        *,
        backoff: Backoff,
        metrics: PollMetrics,
        record: DeviceHealth | None = None,
    ) -> None:
        self.bus = bus
        # ``record``: the device's record from the scheduler this one replaces, so an outage
        # and the counters go on across a restart
        self.health = record if record is not None else DeviceHealth(device_id)
        self.backoff = backoff
        self._m = metrics
        self._labels = {"bus": bus, "device": device_id}
        self._reads = metrics.reads.labels(**self._labels)
        self._readings = metrics.readings.labels(**self._labels)
        self._state = metrics.state.labels(**self._labels)
        self._seconds = metrics.read_seconds.labels(bus=bus)
        self._state.set(STATE_VALUE[self.health.state])
        self._log = log.bind(bus=bus, device=device_id)

    def success(self, readings: int, *, now: datetime, duration_s: float) -> HealthEvent | None:
        h = self.health
        previous, failures = h.state, h.consecutive_failures
        h.record_ok(readings, now)
        self._reads.inc()
        self._readings.inc(readings)
        self._seconds.observe(duration_s)
        if previous == "ok":
            return None
        started = h.outage_started_at
        h.outage_started_at = None
        self._log.info(
            "device recovered",
            outage_s=round((now - started).total_seconds(), 3) if started else None,
            failures=failures,
        )
        return self._move("ok", previous, now, "", "", 0)

    def failure(
        self, error: DeviceError, *, now: datetime, duration_s: float
    ) -> HealthEvent | None:
        h = self.health
        h.reads += 1
        h.failures += 1
        h.consecutive_failures += 1
        h.errors[error.kind] = h.errors.get(error.kind, 0) + 1
        h.last_error = str(error)
        h.last_error_at = now
        self._reads.inc()
        self._m.errors.labels(**self._labels, kind=error.kind).inc()
        self._seconds.observe(duration_s)
        previous = h.state
        state: State = "down" if h.consecutive_failures >= self.backoff.down_after else "degraded"
        if previous == "ok":
            h.outage_started_at = now
            self._log.warning("device not answering", kind=error.kind, detail=error.detail)
        if state == previous:
            return None
        return self._move(state, previous, now, error.kind, error.detail, h.consecutive_failures)

    def overrun(self) -> None:
        self.health.overruns += 1
        self._m.overruns.labels(**self._labels).inc()

    @property
    def retry_after_s(self) -> float | None:
        """Seconds until the next try when the device is down; ``None`` when it is not."""
        if self.health.state != "down":
            return None
        return self.backoff.delay(self.health.consecutive_failures)

    def _move(
        self, state: State, previous: State, now: datetime, kind: str, detail: str, failures: int
    ) -> HealthEvent:
        self.health.state = state
        self._state.set(STATE_VALUE[state])
        return HealthEvent(
            bus=self.bus,
            device_id=self.health.device_id,
            state=state,
            previous=previous,
            ts=now,
            error_kind=kind,
            detail=detail,
            consecutive_failures=failures,
        )
