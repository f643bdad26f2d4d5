"""Hypothesis strategies for the tariff engine, in one place."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from central.tariffs.model import (
    VND,
    Block,
    DatedRate,
    FlatCharge,
    Tariff,
    TariffVersion,
    TaxRule,
    TieredCharge,
)

prices = st.integers(min_value=0, max_value=50_000).map(Decimal)
rates = st.sampled_from(
    [Decimal("0"), Decimal("0.05"), Decimal("0.08"), Decimal("0.1"), Decimal("0.3")]
)


@st.composite
def tiered_charges(draw: st.DrawFn) -> TieredCharge:
    n = draw(st.integers(min_value=1, max_value=6))
    widths = draw(st.lists(st.integers(1, 200), min_size=n - 1, max_size=n - 1))
    ps = draw(st.lists(prices, min_size=n, max_size=n))
    blocks = (
        *tuple(Block(Decimal(w), p) for w, p in zip(widths, ps, strict=False)),
        Block(None, ps[-1]),
    )
    scale = draw(st.sampled_from(["none", "households", "persons"]))
    return TieredCharge(blocks, "monthly", scale, draw(st.booleans()))


@st.composite
def tax_lists(draw: st.DrawFn) -> tuple[TaxRule, ...]:
    taxes: list[TaxRule] = []
    for i in range(draw(st.integers(0, 3))):
        base = ("subtotal",) if not taxes or draw(st.booleans()) else (taxes[-1].code,)
        taxes.append(TaxRule(f"t{i}", f"tax {i}", base, (DatedRate(draw(rates)),)))
    return tuple(taxes)


@st.composite
def tariffs(draw: st.DrawFn) -> Tariff:
    """One to three versions of tiered or flat charges, 2024–2026."""
    starts = sorted(draw(st.sets(st.integers(0, 900), min_size=1, max_size=3).map(list)))
    versions = []
    for i, offset in enumerate(starts):
        charge = draw(st.one_of(tiered_charges(), prices.map(FlatCharge)))
        day = date(2024, 1, 1) + timedelta(days=offset) if i else date(2024, 1, 1)
        versions.append(TariffVersion(day, f"v{i}", charge, draw(tax_lists())))
    return Tariff("gen", "generated", "kWh", VND, tuple(versions))


periods = st.tuples(
    st.integers(0, 900).map(lambda d: date(2024, 1, 1) + timedelta(days=d)),
    st.integers(1, 70),
).map(lambda t: (t[0], t[0] + timedelta(days=t[1])))

consumptions = st.integers(0, 5_000).map(Decimal)
