"""Drafting one account's bill from its readings (pure): exchange, rollover, estimate,
prorate, skips, and the memoised pricer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from central.billing.compute import Account, Draft, Exchange, MeterSeries, Pricer, Skip, draft
from central.tariffs.catalog import load_dir

START, END = date(2025, 6, 1), date(2025, 7, 1)
OPEN = datetime(2025, 6, 1, 17, tzinfo=UTC)  # end of 06-01 in Vietnam
CLOSE = datetime(2025, 7, 1, 17, tzinfo=UTC)
EVN = Account(1, "01000000001", "evn-residential", 0, 1)


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    return Pricer(load_dir(), START, END)


def at(day: int) -> datetime:
    return datetime(2025, 6, 1, 3, tzinfo=UTC) + timedelta(days=day)


def bill(
    pricer: Pricer, meters: list[MeterSeries], exchange: Exchange | None = None
) -> Draft | Skip:
    return draft(EVN, meters, exchange, opening_bound=OPEN, closing_bound=CLOSE, pricer=pricer)


def test_consumption_uses_whole_register_units(pricer: Pricer) -> None:
    d = bill(pricer, [MeterSeries("m", 6, 1, [(at(0), 1000.9), (at(30), 1250.2)])])
    assert isinstance(d, Draft)
    # 1250 − 1000 = 250 kWh: 636,768 VND (worked in tests/unit/tariffs)
    assert (d.previous_index, d.current_index, d.consumption, d.priced.total) == (
        1000.0,
        1250.0,
        250,
        636_768,
    )


def test_multiplier_and_rollover(pricer: Pricer) -> None:
    d = bill(pricer, [MeterSeries("m", 4, 10, [(at(0), 9990), (at(30), 15)])])
    assert isinstance(d, Draft)
    assert (d.consumption, d.flags) == (250, ("rollover",))  # (10^4 − 9990 + 15) × 10


def test_meter_exchange_adds_both_meters(pricer: Pricer) -> None:
    old = MeterSeries("old", 6, 1, [(at(0), 5000)])
    new = MeterSeries("new", 6, 1, [(at(30), 130)])
    ex = Exchange(at(15), "old", "new", old_final=5120, new_initial=10)
    d = bill(pricer, [old, new], ex)
    assert isinstance(d, Draft)
    assert (d.consumption, d.meter_id, d.flags) == (240, "new", ("meter_exchanged",))


def test_missing_closing_is_estimated_or_prorated(pricer: Pricer) -> None:
    hist = [(at(-30), 800.0), (at(0), 1000.0)]  # 200 kWh in 30 days
    d = bill(pricer, [MeterSeries("m", 6, 1, hist)])
    assert isinstance(d, Draft)
    assert d.estimated
    assert d.flags == ("estimated",)
    # from 06-01 03:00 UTC to the end of 07-01 (17:00 UTC): 30.583 days × 6.667 = 203.9
    assert d.consumption == 203
    later = [*hist, (at(40), 1400.0)]
    p = bill(pricer, [MeterSeries("m", 6, 1, later)])
    assert isinstance(p, Draft)
    assert (p.estimated, p.flags) == (False, ("prorated",))
    # prorated: 10 kWh/day between the readings × 30.583 days = 305.8 → index 1305
    assert p.consumption == 305


def test_skips_say_why(pricer: Pricer) -> None:
    assert bill(pricer, []) == Skip(EVN, "no reading")
    late_only = bill(pricer, [MeterSeries("m", 6, 1, [(at(20), 5.0)])])
    assert isinstance(late_only, Skip)
    assert late_only.reason == "no opening reading"
    backwards = bill(pricer, [MeterSeries("m", 6, 1, [(at(0), 900.0), (at(30), 100.0)])])
    assert isinstance(backwards, Skip)
    assert backwards.reason.startswith("negative consumption")


def test_the_pricer_memoises(pricer: Pricer) -> None:
    a = pricer.price("evn-residential", 123, 0, 1, 0)
    assert pricer.price("evn-residential", 123, 0, 1, 0) is a


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (float("inf"), "meter m: reading inf is not a finite number"),
        (float("nan"), "meter m: reading nan is not a finite number"),
        (1e308, "implausible consumption"),
        (1e12, "implausible consumption"),
    ],
)
def test_an_extreme_reading_is_a_skip_with_its_reason(
    pricer: Pricer, value: float, reason: str
) -> None:
    out = bill(pricer, [MeterSeries("m", 15, 1, [(at(0), 1000.0), (at(30), value)])])
    assert isinstance(out, Skip)
    assert out.reason.startswith(reason)
