"""Value types of the tariff engine: tariffs, versions, charges, taxes, usages and quotes.

Prices are :class:`~decimal.Decimal` in the currency's major unit per unit of consumption
(VND per kWh, yuan per kWh); amounts are integers of the currency's minor unit (VND has none,
the yuan has 100 fen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal


class TariffError(Exception):
    """Base of every error raised by :mod:`central.tariffs`."""


class TariffDataError(TariffError):
    """A tariff definition is inconsistent (names the tariff, the field and the reason)."""


class QuoteError(TariffError):
    """A usage cannot be priced by a tariff (bad dates, missing persons, no version in force)."""


Rounding = Literal["half_up", "half_even", "down", "up"]
Accumulation = Literal["monthly", "annual"]
Scale = Literal["none", "households", "persons"]


@dataclass(frozen=True)
class Currency:
    code: str
    exponent: int  # digits of the minor unit: VND 0, CNY 2

    @property
    def minor_per_major(self) -> Decimal:
        return Decimal(10) ** self.exponent


VND = Currency("VND", 0)
CNY = Currency("CNY", 2)
CURRENCIES = {c.code: c for c in (VND, CNY, Currency("USD", 2), Currency("EUR", 2))}


@dataclass(frozen=True)
class Block:
    """One block of a tiered charge. ``width`` is in units (per person / household when the
    charge scales); ``None`` means unbounded and may only be the last block."""

    width: Decimal | None
    price: Decimal
    label: str = ""


@dataclass(frozen=True)
class TieredCharge:
    blocks: tuple[Block, ...]
    accumulate: Accumulation = "monthly"
    scale: Scale = "none"
    prorate: bool = False  # EVN rule: widths × N / T for a period that is not a whole month
    kind: Literal["tiered"] = "tiered"

    def __post_init__(self) -> None:
        if not self.blocks:
            raise TariffDataError("a tiered charge needs at least one block")
        for b in self.blocks[:-1]:
            if b.width is None or b.width <= 0:
                raise TariffDataError("only the last block may be unbounded; widths must be > 0")
        if self.blocks[-1].width is not None:
            raise TariffDataError("the last block must be unbounded (no width)")
        if any(b.price < 0 for b in self.blocks):
            raise TariffDataError("block prices must not be negative")
        if self.accumulate == "annual" and self.prorate:
            raise TariffDataError("annual blocks are not prorated by days")

    @property
    def kind_name(self) -> str:
        if self.scale == "persons":
            return "tiered_per_person"
        if self.scale == "households":
            return "tiered_per_household"
        return f"tiered_{self.accumulate}"


@dataclass(frozen=True)
class FlatCharge:
    price: Decimal
    label: str = ""
    kind: Literal["flat"] = "flat"

    def __post_init__(self) -> None:
        if self.price < 0:
            raise TariffDataError("a flat price must not be negative")

    @property
    def kind_name(self) -> str:
        return "flat"


@dataclass(frozen=True)
class TouCharge:
    """Time of use: one price per band; the usage says how much was used in each band."""

    prices: Mapping[str, Decimal]
    kind: Literal["tou"] = "tou"

    def __post_init__(self) -> None:
        if not self.prices:
            raise TariffDataError("a time-of-use charge needs at least one band")
        if any(p < 0 for p in self.prices.values()):
            raise TariffDataError("band prices must not be negative")

    @property
    def kind_name(self) -> str:
        return "time_of_use"


Charge = TieredCharge | FlatCharge | TouCharge


@dataclass(frozen=True)
class DatedRate:
    """A rate valid from ``start`` to ``end`` inclusive (either open)."""

    rate: Decimal
    start: date | None = None
    end: date | None = None

    def covers(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class TaxRule:
    """A tax or fee line. Its base is the sum of ``base`` items: ``"subtotal"`` (the consumption
    charge) or the code of an earlier tax line. The rate is the one in force on the period's
    end (the reading date); the amount is rounded once, to the minor unit."""

    code: str
    description: str
    base: tuple[str, ...]
    rates: tuple[DatedRate, ...]
    rounding: Rounding = "half_up"

    def rate_on(self, day: date) -> Decimal:
        for r in self.rates:
            if r.covers(day):
                return r.rate
        raise QuoteError(f"tax {self.code!r} has no rate in force on {day.isoformat()}")


@dataclass(frozen=True)
class TariffVersion:
    effective_from: date
    source: str
    charge: Charge
    taxes: tuple[TaxRule, ...] = ()
    rounding: Rounding = "half_up"  # of each charge line

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for tax in self.taxes:
            for item in tax.base:
                if item != "subtotal" and item not in seen:
                    raise TariffDataError(
                        f"tax {tax.code!r}: base {item!r} is neither 'subtotal' nor an earlier tax"
                    )
            if tax.code in seen or tax.code == "subtotal":
                raise TariffDataError(f"tax code {tax.code!r} is used twice")
            seen.add(tax.code)


@dataclass(frozen=True)
class Tariff:
    code: str
    name: str
    unit: str
    currency: Currency
    versions: tuple[TariffVersion, ...]  # sorted by effective_from
    utility: str = ""
    category: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if not self.versions:
            raise TariffDataError(f"tariff {self.code!r} has no version")
        days = [v.effective_from for v in self.versions]
        if days != sorted(days) or len(set(days)) != len(days):
            raise TariffDataError(
                f"tariff {self.code!r}: versions must have distinct, increasing effective dates"
            )

    @property
    def kind(self) -> str:
        return self.versions[-1].charge.kind_name

    def version_on(self, day: date) -> TariffVersion:
        found = None
        for v in self.versions:
            if v.effective_from <= day:
                found = v
        if found is None:
            raise QuoteError(
                f"tariff {self.code!r} has no version in force on {day.isoformat()} "
                f"(first from {self.versions[0].effective_from.isoformat()})"
            )
        return found

    def with_version(self, version: TariffVersion) -> Tariff:
        """A copy with ``version`` added (replacing one with the same effective date)."""
        kept = [v for v in self.versions if v.effective_from != version.effective_from]
        ordered = tuple(sorted([*kept, version], key=lambda v: v.effective_from))
        return Tariff(
            self.code,
            self.name,
            self.unit,
            self.currency,
            ordered,
            self.utility,
            self.category,
            self.description,
        )


@dataclass(frozen=True)
class Usage:
    """What is priced: consumption between two readings (``period_end`` is the reading date;
    the number of days is ``period_end - period_start``)."""

    consumption: Decimal
    period_start: date
    period_end: date
    households: int = 1
    persons: int | None = None
    prior_consumption: Decimal = Decimal(0)  # annual blocks: use earlier in the same year
    bands: Mapping[str, Decimal] = field(default_factory=dict)  # time of use


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal  # minor units per unit
    amount: int


@dataclass(frozen=True)
class TaxLine:
    code: str
    description: str
    base: int
    rate: Decimal
    amount: int


@dataclass(frozen=True)
class Quote:
    tariff_code: str
    currency: str
    lines: tuple[Line, ...]
    taxes: tuple[TaxLine, ...]

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def tax_total(self) -> int:
        return sum(t.amount for t in self.taxes)

    @property
    def total(self) -> int:
        return self.subtotal + self.tax_total
