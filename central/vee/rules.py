"""Validation rules: flags on a meter's readings, as a pure function of the readings.

Flags (REFERENCE §6): ``negative`` (the register went backwards), ``rollover`` (it passed
10^digits and restarted), ``zero`` (no consumption over a period), ``high`` / ``low`` (daily
use far from the customer's history), ``spike`` (one interval far above its neighbours),
``gap`` (too long without a reading), ``duplicate`` (two readings at one instant),
``future`` (a timestamp ahead of the clock), ``out_of_order`` (it arrived after a later
reading), ``meter_exchanged`` (a meter exchange between this reading and the previous one),
``negative_value`` (a register below zero) and ``beyond_register`` (a value the meter's
``digits`` cannot show): implausible values a meter cannot have measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Point:
    """A reading as VEE sees it: register value at ``ts``, received at ``received_at``."""

    ts: datetime
    value: float
    received_at: datetime
    reading_id: int | None = None


@dataclass(frozen=True)
class Limits:
    max_gap: timedelta = timedelta(days=45)
    zero_after: timedelta = timedelta(days=7)
    high_factor: float = 3.0
    low_factor: float = 0.25
    spike_factor: float = 5.0
    future_tolerance: timedelta = timedelta(minutes=5)
    duplicate_window: timedelta = timedelta(seconds=60)
    rollover_share: float = 0.5  # a wrap is plausible when the previous value was this high


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Finding:
    index: int  # position in the time-ordered readings
    flag: str
    detail: str


@dataclass(frozen=True)
class MeterContext:
    digits: int = 6
    history_daily: float | None = None  # the customer's usual daily use
    exchanges: Sequence[datetime] = field(default_factory=tuple)


def delta(previous: float, current: float, digits: int, share: float = 0.5) -> tuple[float, str]:
    """Consumption between two register values and ``""``, ``"rollover"`` or ``"negative"``."""
    if current >= previous:
        return current - previous, ""
    span = 10.0**digits
    if previous >= span * share:
        return span - previous + current, "rollover"
    return current - previous, "negative"


def validate(
    points: Sequence[Point], ctx: MeterContext, *, now: datetime, limits: Limits | None = None
) -> list[Finding]:
    """Flags for ``points`` (any order); ``Finding.index`` refers to time order."""
    limits = limits or DEFAULT_LIMITS
    ordered = sorted(points, key=lambda p: p.ts)
    found: list[Finding] = []
    latest_seen: datetime | None = None
    for p in sorted(points, key=lambda p: p.received_at):
        if latest_seen is not None and p.ts < latest_seen:
            found.append(
                Finding(
                    ordered.index(p),
                    "out_of_order",
                    f"arrived after a reading of {latest_seen.isoformat()}",
                )
            )
        if latest_seen is None or p.ts > latest_seen:
            latest_seen = p.ts
    rates: list[float] = []
    for i, p in enumerate(ordered):
        if p.ts > now + limits.future_tolerance:
            found.append(Finding(i, "future", f"{p.ts.isoformat()} is ahead of the clock"))
        if p.value < 0:
            found.append(Finding(i, "negative_value", f"{p.value} is below zero"))
        elif p.value >= 10.0**ctx.digits:
            found.append(
                Finding(i, "beyond_register", f"{p.value} needs more than {ctx.digits} digits")
            )
        if i == 0:
            rates.append(0.0)
            continue
        prev = ordered[i - 1]
        span = p.ts - prev.ts
        if span <= limits.duplicate_window:
            found.append(Finding(i, "duplicate", f"{span.total_seconds():.0f} s after another"))
            rates.append(0.0)
            continue
        if any(prev.ts < x <= p.ts for x in ctx.exchanges):
            found.append(Finding(i, "meter_exchanged", "a meter was exchanged in between"))
            rates.append(0.0)
            continue
        used, kind = delta(prev.value, p.value, ctx.digits, limits.rollover_share)
        if kind:
            found.append(Finding(i, kind, f"{prev.value} → {p.value}"))
        if span > limits.max_gap:
            found.append(Finding(i, "gap", f"{span.days} days since the previous reading"))
        days = span.total_seconds() / SECONDS_PER_DAY
        rate = used / days if days > 0 else 0.0
        rates.append(rate)
        if used == 0 and span >= limits.zero_after:
            found.append(Finding(i, "zero", f"no consumption in {span.days} days"))
        if ctx.history_daily and ctx.history_daily > 0 and kind != "negative" and used > 0:
            if rate > ctx.history_daily * limits.high_factor:
                found.append(Finding(i, "high", f"{rate:.2f}/day against {ctx.history_daily:.2f}"))
            elif rate < ctx.history_daily * limits.low_factor:
                found.append(Finding(i, "low", f"{rate:.2f}/day against {ctx.history_daily:.2f}"))
    for i in range(1, len(ordered)):
        neighbours = [r for j, r in enumerate(rates) if j != i and j > 0 and rates[j] > 0]
        if len(neighbours) >= 2 and rates[i] > limits.spike_factor * median(neighbours):
            found.append(
                Finding(i, "spike", f"{rates[i]:.2f}/day, usually {median(neighbours):.2f}")
            )
    return sorted(found, key=lambda f: (f.index, f.flag))
