"""Which timestamp a reading carries: the meter's own clock where it has one, else the read time.

A meter clock further than ``tolerance`` from the gateway's clock is still used (the meter's
time is the reading's identity), but the readings are flagged ``clock_suspect`` so VEE can look.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from contract.mqtt import QualityFlag

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def stamp(
    meter_time: datetime | None, *, now: datetime, tolerance: timedelta
) -> tuple[datetime, tuple[QualityFlag, ...]]:
    """(timestamp, quality flags) for readings taken at ``now`` (aware) from a meter."""
    if meter_time is None:
        return now.replace(microsecond=0), ("time_from_gateway",)
    if meter_time.tzinfo is None:
        raise ValueError("meter time must be aware: attach the meter's time zone first")
    if abs(meter_time - now) > tolerance:
        return meter_time, ("clock_suspect",)
    return meter_time, ()
