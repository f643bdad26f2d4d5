"""Properties every quote holds, over generated tariffs and usages."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from central.tariffs import FlatCharge, Tariff, TariffVersion, Usage, quote
from central.tariffs.model import VND, DatedRate, TaxRule
from central.tariffs.rounding import to_int
from tests.support.tariff_strategies import consumptions, periods, prices, tariffs

households = st.integers(1, 4)
persons = st.integers(0, 8)


def _usage(c: Decimal, period: tuple[date, date], h: int, p: int) -> Usage:
    return Usage(c, period[0], period[1], households=h, persons=p)


@settings(max_examples=200, deadline=None)
@given(tariffs(), consumptions, periods, households, persons)
def test_total_is_the_sum_of_lines_and_taxes_and_never_negative(
    tariff: Tariff, c: Decimal, period: tuple[date, date], h: int, p: int
) -> None:
    result = quote(tariff, _usage(c, period, h, p))
    assert result.subtotal == sum(ln.amount for ln in result.lines)
    assert result.total == result.subtotal + sum(t.amount for t in result.taxes)
    assert all(ln.amount >= 0 and ln.quantity >= 0 for ln in result.lines)
    assert all(t.amount >= 0 for t in result.taxes)
    assert result.total >= 0
    # every unit consumed is on exactly one line
    assert sum(ln.quantity for ln in result.lines) == c


@settings(max_examples=200, deadline=None)
@given(tariffs(), consumptions, st.integers(0, 500), periods, households, persons)
def test_never_decreasing_in_consumption(
    tariff: Tariff, c: Decimal, more: int, period: tuple[date, date], h: int, p: int
) -> None:
    low = quote(tariff, _usage(c, period, h, p))
    high = quote(tariff, _usage(c + more, period, h, p))
    assert high.subtotal >= low.subtotal
    assert high.total >= low.total


@settings(max_examples=200, deadline=None)
@given(tariffs(), st.integers(0, 50_000).map(lambda n: Decimal(n) / 10), periods, persons)
def test_rounding_happens_once_per_line(
    tariff: Tariff, c: Decimal, period: tuple[date, date], p: int
) -> None:
    result = quote(tariff, _usage(c, period, 1, p))
    for ln in result.lines:
        assert ln.amount == to_int(ln.quantity * ln.unit_price)
    amounts = {"subtotal": result.subtotal}
    version = tariff.version_on(period[1])
    for rule, line in zip(version.taxes, result.taxes, strict=True):
        assert line.base == sum(amounts[b] for b in rule.base)
        assert line.amount == to_int(line.base * line.rate)
        amounts[line.code] = line.amount


@settings(max_examples=200, deadline=None)
@given(prices, consumptions, periods, st.data())
def test_splitting_a_period_does_not_change_a_flat_bill(
    price: Decimal, c: Decimal, period: tuple[date, date], data: st.DataObject
) -> None:
    start, end = period
    days = (end - start).days
    vat = (TaxRule("vat", "VAT", ("subtotal",), (DatedRate(Decimal("0.08")),)),)
    whole = Tariff(
        "f", "flat", "kWh", VND, (TariffVersion(date(2020, 1, 1), "a", FlatCharge(price), vat),)
    )
    if days >= 2:
        # the same price restated on a day inside the period: two segments, same bill
        cut = start + timedelta(days=data.draw(st.integers(1, days - 1)))
        split = whole.with_version(TariffVersion(cut, "b", FlatCharge(price), vat))
        assert (
            quote(split, _usage(c, period, 1, 0)).total
            == quote(whole, _usage(c, period, 1, 0)).total
        )
        # and two bills for the two halves add up to the same charge
        part = Decimal(data.draw(st.integers(0, int(c))))
        first = quote(whole, _usage(part, (start, cut), 1, 0))
        second = quote(whole, _usage(c - part, (cut, end), 1, 0))
        assert first.subtotal + second.subtotal == quote(whole, _usage(c, period, 1, 0)).subtotal
