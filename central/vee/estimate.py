"""Estimates of a register value at an instant with no reading (pure).

``prorate`` interpolates between two good readings; ``from_average`` projects the last good
reading with the average daily use; ``same_period_last_year`` uses last year's consumption of
the same period. Every estimate says its method so a bill can show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from central.vee.rules import SECONDS_PER_DAY


class EstimateError(Exception):
    """Not enough good data to estimate."""


@dataclass(frozen=True)
class Estimate:
    ts: datetime
    value: float
    method: str  # prorate | average_daily | last_year


def prorate(
    before: tuple[datetime, float], after: tuple[datetime, float], at: datetime
) -> Estimate:
    (t0, v0), (t1, v1) = before, after
    if not t0 <= at <= t1 or t1 <= t0:
        raise EstimateError(f"{at.isoformat()} is not between the two readings")
    if v1 < v0:
        raise EstimateError("the readings go backwards; cannot prorate")
    share = (at - t0).total_seconds() / (t1 - t0).total_seconds()
    return Estimate(at, v0 + (v1 - v0) * share, "prorate")


def average_daily(history: list[tuple[datetime, float]]) -> float:
    """Average daily use over good readings (time-ordered register values)."""
    if len(history) < 2:
        raise EstimateError("need two good readings for an average")
    (t0, v0), (t1, v1) = history[0], history[-1]
    days = (t1 - t0).total_seconds() / SECONDS_PER_DAY
    if days <= 0 or v1 < v0:
        raise EstimateError("history has no usable span")
    return (v1 - v0) / days


def from_average(last: tuple[datetime, float], daily: float, at: datetime) -> Estimate:
    t0, v0 = last
    if at < t0:
        raise EstimateError("cannot project backwards")
    days = (at - t0).total_seconds() / SECONDS_PER_DAY
    return Estimate(at, v0 + max(daily, 0.0) * days, "average_daily")


def same_period_last_year(
    last: tuple[datetime, float], used_last_year: float, at: datetime
) -> Estimate:
    t0, v0 = last
    if at < t0 or used_last_year < 0:
        raise EstimateError("cannot use last year's period")
    return Estimate(at, v0 + used_last_year, "last_year")
