"""A price change inside a period shares a per-person (or per-household, unprorated)
allowance between the parts by days: the parts together never get more than the whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from central.tariffs import Usage, quote
from central.tariffs.catalog import load_dir
from central.tariffs.model import Block, TieredCharge

HIGHER = TieredCharge(
    blocks=(
        Block(Decimal(4), Decimal(7000), "Up to 4 m³/person"),
        Block(Decimal(2), Decimal(13500), "Next 2 m³/person"),
        Block(None, Decimal(15000), "Above 6 m³/person"),
    ),
    scale="persons",
    prorate=False,
)


def _with_change(day: date):  # type: ignore[no-untyped-def]
    tariff = load_dir()["hcmc-water-residential"]
    base = tariff.versions[-1]
    return tariff.with_version(replace(base, effective_from=day, source="test", charge=HIGHER))


def test_hcmc_12_m3_one_person_across_a_price_change_on_25_06() -> None:
    usage = Usage(Decimal(12), date(2025, 6, 10), date(2025, 7, 10), persons=1)
    # one version: 4 × 6,700 + 2 × 12,900 + 6 × 14,400 = 26,800 + 25,800 + 86,400 = 139,000
    assert quote(load_dir()["hcmc-water-residential"], usage).subtotal == 139_000
    q = quote(_with_change(date(2025, 6, 25)), usage)
    # 30 days: 10/06–25/06 is 15 days, 25/06–10/07 is 15 days; 12 m³ → 6 m³ + 6 m³.
    # The allowance of 4 + 2 m³ for one person is shared by days: 2 + 1 m³ in each part.
    # Old part: 2 × 6,700 + 1 × 12,900 + 3 × 14,400 = 13,400 + 12,900 + 43,200 = 69,500
    # New part: 2 × 7,000 + 1 × 13,500 + 3 × 15,000 = 14,000 + 13,500 + 45,000 = 72,500
    assert [(ln.quantity, ln.amount) for ln in q.lines] == [
        (Decimal(2), 13_400),
        (Decimal(1), 12_900),
        (Decimal(3), 43_200),
        (Decimal(2), 14_000),
        (Decimal(1), 13_500),
        (Decimal(3), 45_000),
    ]
    assert q.subtotal == 142_000  # not 107,600: the allowance is no longer given twice


def test_uneven_days_give_the_last_part_what_is_left() -> None:
    # 10/06–10/07, change on 27/06: 17 days then 13 days, 3 persons, 30 m³.
    # Widths 12 and 6 m³: first part round_half_up(12 × 17/30 = 6.8) = 7 and
    # round_half_up(6 × 17/30 = 3.4) = 3; the last part takes 12 − 7 = 5 and 6 − 3 = 3.
    # Quantities: round_half_up(30 × 17/30) = 17, then 13.
    usage = Usage(Decimal(30), date(2025, 6, 10), date(2025, 7, 10), persons=3)
    q = quote(_with_change(date(2025, 6, 27)), usage)
    assert [ln.quantity for ln in q.lines] == [7, 3, 7, 5, 3, 5]
    # 7 × 6,700 + 3 × 12,900 + 7 × 14,400 + 5 × 7,000 + 3 × 13,500 + 5 × 15,000
    assert q.subtotal == 46_900 + 38_700 + 100_800 + 35_000 + 40_500 + 75_000


def test_under_the_allowance_the_parts_never_exceed_the_whole() -> None:
    usage = Usage(Decimal(5), date(2025, 6, 10), date(2025, 7, 10), persons=1)
    q = quote(_with_change(date(2025, 6, 25)), usage)
    # 2.5 → 3 m³ (half up) then 2 m³; allowance 2 + 1 then 2 + 1
    # old part: 2 × 6,700 + 1 × 12,900; new part: 2 × 7,000
    assert [ln.amount for ln in q.lines] == [13_400, 12_900, 14_000]
