"""Values that evolve like a real meter's, and the faults a simulated meter can show.

Energy follows a household load profile (low at night, peaks morning and evening) with noise;
water flows by time of day. Registers only grow and roll over at their digit count. Time comes
from an injected clock, so a test can jump a day without sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


# Relative demand by hour of day (local time of the meter).
_ELECTRIC: tuple[float, ...] = (0.4, 0.35, 0.3, 0.3, 0.35, 0.5, 0.9, 1.3, 1.2, 0.9, 0.8, 0.9)
_ELECTRIC += (1.0, 0.9, 0.8, 0.8, 0.9, 1.2, 1.6, 1.7, 1.6, 1.3, 0.9, 0.6)
_WATER: tuple[float, ...] = (0.05, 0.02, 0.02, 0.02, 0.05, 0.4, 1.6, 1.9, 1.2, 0.7, 0.6, 0.8)
_WATER += (1.1, 0.8, 0.5, 0.5, 0.7, 1.2, 1.6, 1.5, 1.2, 0.8, 0.4, 0.15)


@dataclass
class Faults:
    """Per-meter fault injection; change the fields while the simulator runs."""

    no_answer: bool = False  # stays silent, as a dead or disconnected meter
    late_answer_s: float = 0.0  # extra delay before every answer
    bad_checksum: bool = False  # BCC (IEC) or checksum (M-Bus) off by one
    garble: bool = False  # one byte of every answer flipped
    split: bool = False  # answers trickle out in small pieces with pauses
    stuck: bool = False  # values stop changing
    clock_drift_s: float = 0.0  # the meter's clock runs this far ahead (negative: behind)


class Register:
    """A cumulative register driven by a rate profile: ``rate(t) = mean × shape(hour) × noise``."""

    def __init__(
        self,
        *,
        start: float,
        mean_rate_per_h: float,
        shape: tuple[float, ...],
        digits: int,
        seed: int,
        clock: Clock,
        tz_offset_h: float = 0.0,
    ) -> None:
        self._value = start
        self.mean = mean_rate_per_h
        self.shape = shape
        self.modulus = 10.0**digits
        self._rng = random.Random(seed)
        self._clock = clock
        self._tz = timedelta(hours=tz_offset_h)
        self._last = clock()
        self._rate = self._draw_rate(self._last)

    def _draw_rate(self, at: datetime) -> float:
        hour = (at + self._tz).hour
        return self.mean * self.shape[hour] * self._rng.uniform(0.85, 1.15)

    @property
    def rate(self) -> float:
        """The current rate (kW for energy, m³/h for water)."""
        return self._rate

    def advance(self, *, stuck: bool = False) -> float:
        """Integrate up to the clock's now and return the register (after rollover)."""
        now = self._clock()
        while self._last < now:
            step_end = min(now, self._last + timedelta(minutes=15))
            hours = (step_end - self._last).total_seconds() / 3600
            if not stuck:
                self._value = (self._value + self._rate * hours) % self.modulus
            self._last = step_end
            self._rate = self._draw_rate(step_end)
        return self._value


def electricity(
    start_kwh: float, mean_kw: float, *, seed: int, clock: Clock, tz_offset_h: float = 0.0
) -> Register:
    return Register(
        start=start_kwh,
        mean_rate_per_h=mean_kw,
        shape=_ELECTRIC,
        digits=6,
        seed=seed,
        clock=clock,
        tz_offset_h=tz_offset_h,
    )


def water(
    start_m3: float, mean_m3_h: float, *, seed: int, clock: Clock, tz_offset_h: float = 0.0
) -> Register:
    return Register(
        start=start_m3,
        mean_rate_per_h=mean_m3_h,
        shape=_WATER,
        digits=8,
        seed=seed,
        clock=clock,
        tz_offset_h=tz_offset_h,
    )
