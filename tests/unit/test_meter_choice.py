"""Which meter bills a period (pure): the one in service during it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from central.billing.compute import Exchange
from central.billing.meters import MeterInfo, choose

VN = ZoneInfo("Asia/Ho_Chi_Minh")
OPEN = datetime(2025, 5, 10, 17, tzinfo=UTC)  # end of 10/05 in Vietnam
CLOSE = datetime(2025, 6, 10, 17, tzinfo=UTC)
OLD = MeterInfo("OLD", 6, 1, "replaced", None, date(2025, 6, 25))
NEW = MeterInfo("NEW", 6, 1, "active", date(2025, 6, 25), None)
SERIES = {"OLD": [(OPEN - timedelta(hours=8), 100.0)], "NEW": [(CLOSE, 1.0)]}


def pick(meters: list[MeterInfo], exchanges: list[Exchange]) -> tuple[list[str], str]:
    c = choose(meters, SERIES, exchanges, opening=OPEN, closing=CLOSE, tz=VN)
    return [m.meter_id for m in c.meters], c.problem


def test_an_exchange_after_the_period_leaves_it_to_the_old_meter() -> None:
    after = Exchange(datetime(2025, 6, 25, 3, tzinfo=UTC), "OLD", "NEW", 128, 0)
    assert pick([OLD, NEW], [after]) == (["OLD"], "")
    # without the exchange record, the dates say the same
    assert pick([OLD, NEW], []) == (["OLD"], "")


def test_an_exchange_inside_the_period_bills_both() -> None:
    inside = Exchange(datetime(2025, 5, 25, 3, tzinfo=UTC), "OLD", "NEW", 128, 0)
    new = MeterInfo("NEW", 6, 1, "active", None, None)
    c = choose([OLD, new], SERIES, [inside], opening=OPEN, closing=CLOSE, tz=VN)
    assert ([m.meter_id for m in c.meters], c.exchange) == (["OLD", "NEW"], inside)
    twice = Exchange(datetime(2025, 6, 1, 3, tzinfo=UTC), "NEW", "THIRD", 5, 0)
    assert pick([OLD, new], [inside, twice])[1] == "2 meter exchanges in the period: bill by hand"


def test_a_meter_installed_after_the_period_does_not_bill_it() -> None:
    assert pick([NEW], []) == ([], "no meter in service during the period")
    assert pick([], []) == ([], "no meter")


def test_two_meters_in_service_are_a_problem() -> None:
    a = MeterInfo("A", 6, 1, "active", None, None)
    b = MeterInfo("B", 6, 1, "active", date(2025, 1, 1), None)
    assert pick([a, b], []) == (
        [],
        "2 meters in service (A, B): record the exchange or end one",
    )
