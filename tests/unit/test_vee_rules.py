"""VEE rules and estimates as pure functions (REFERENCE §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from central.vee.estimate import (
    EstimateError,
    average_daily,
    from_average,
    prorate,
    same_period_last_year,
)
from central.vee.rules import MeterContext, Point, delta, validate

T0 = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 12, 31, tzinfo=UTC)


def pts(*values: tuple[int, float]) -> list[Point]:
    """(day offset, value) → points received in time order."""
    return [Point(T0 + timedelta(days=d), v, T0 + timedelta(days=d, minutes=5)) for d, v in values]


def flags(points: list[Point], ctx: MeterContext | None = None) -> list[tuple[int, str]]:
    return [(f.index, f.flag) for f in validate(points, ctx or MeterContext(), now=NOW)]


def test_clean_monthly_readings_raise_nothing() -> None:
    assert flags(pts((0, 100), (30, 130), (60, 161), (90, 190))) == []


def test_negative_and_rollover() -> None:
    assert delta(999_990, 15, 6) == (25, "rollover")
    assert delta(500, 400, 6) == (-100, "negative")
    assert flags(pts((0, 999_990), (30, 15)), MeterContext(digits=6)) == [(1, "rollover")]
    assert flags(pts((0, 500), (30, 400))) == [(1, "negative")]


def test_zero_gap_duplicate_future() -> None:
    assert flags(pts((0, 100), (30, 100))) == [(1, "zero")]
    assert flags(pts((0, 100), (60, 160))) == [(1, "gap")]
    dup = [*pts((0, 100)), Point(T0 + timedelta(seconds=30), 100, T0 + timedelta(minutes=6))]
    assert flags(dup) == [(1, "duplicate")]
    ahead = pts((0, 100), (400, 500))
    assert (1, "future") in flags(ahead)


def test_high_and_low_against_history() -> None:
    ctx = MeterContext(history_daily=1.0)
    assert flags(pts((0, 100), (30, 250)), ctx) == [(1, "high")]  # 5/day against 1/day
    assert flags(pts((0, 100), (30, 105)), ctx) == [(1, "low")]  # 0.17/day


def test_spike_among_its_neighbours() -> None:
    found = flags(pts((0, 0), (30, 30), (60, 60), (90, 400), (120, 430), (150, 460)))
    assert found == [(3, "spike")]


def test_out_of_order_arrival_and_meter_exchange() -> None:
    late = Point(T0 + timedelta(days=30), 130, T0 + timedelta(days=70))
    on_time = pts((0, 100), (60, 160))
    assert flags([*on_time, late]) == [(1, "out_of_order")]
    ctx = MeterContext(exchanges=(T0 + timedelta(days=10),))
    assert flags(pts((0, 900), (30, 20)), ctx) == [(1, "meter_exchanged")]


def test_estimates() -> None:
    est = prorate((T0, 100.0), (T0 + timedelta(days=40), 140.0), T0 + timedelta(days=30))
    assert (est.value, est.method) == (130.0, "prorate")
    daily = average_daily(
        [(T0, 100.0), (T0 + timedelta(days=20), 110.0), (T0 + timedelta(days=30), 130.0)]
    )
    assert daily == 1.0
    assert from_average((T0, 130.0), 1.0, T0 + timedelta(days=15)).value == 145.0
    assert same_period_last_year((T0, 10.0), 22.0, T0 + timedelta(days=30)).value == 32.0
    with pytest.raises(EstimateError):
        average_daily([(T0, 1.0)])
    with pytest.raises(EstimateError):
        prorate((T0, 5.0), (T0 + timedelta(days=1), 4.0), T0)


def test_implausible_values_are_flagged() -> None:
    six = MeterContext(digits=6)
    assert (0, "negative_value") in flags(pts((0, -5), (30, 10)), six)
    assert flags(pts((0, 100), (30, 1_000_000)), six) == [(1, "beyond_register")]
    assert (1, "beyond_register") not in flags(pts((0, 100), (30, 999_999)), six)
