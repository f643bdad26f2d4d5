"""The edge of the tariff engine: pydantic models of a tariff as written in TOML or JSON.

The same schema reads ``config/tariffs/*.toml`` and the body of a new version sent over REST;
:func:`to_tariff` and :func:`to_version` turn it into the engine's frozen value types, and
:func:`version_out` turns a version back into the same shape.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from central.tariffs.model import (
    CURRENCIES,
    Accumulation,
    Block,
    Charge,
    DatedRate,
    FlatCharge,
    Rounding,
    Scale,
    Tariff,
    TariffDataError,
    TariffError,
    TariffVersion,
    TaxRule,
    TieredCharge,
    TouCharge,
)
from central.types import Code, Price, Str32, Str200, Str300


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class BlockIn(_Strict):
    width: Decimal | None = Field(default=None, gt=0, le=10**9, allow_inf_nan=False)
    price: Price
    label: Str200 = ""


class ChargeIn(_Strict):
    kind: Literal["tiered", "flat", "tou"]
    blocks: list[BlockIn] = Field(default_factory=list, max_length=50)
    accumulate: Accumulation = "monthly"
    scale: Scale = "none"
    prorate: bool = False
    price: Price | None = None
    label: Str200 = ""
    prices: dict[Str32, Price] = Field(default_factory=dict, max_length=20)


class RateIn(_Strict):
    rate: Decimal = Field(ge=0, le=10, allow_inf_nan=False, decimal_places=6)
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="until")


class TaxIn(_Strict):
    code: Code
    description: Str200
    base: list[Str32] = Field(default_factory=lambda: ["subtotal"], min_length=1, max_length=20)
    rounding: Rounding = "half_up"
    rates: list[RateIn] = Field(min_length=1, max_length=50)


class VersionIn(_Strict):
    effective_from: date = Field(ge=date(1990, 1, 1), le=date(2200, 12, 31))
    source: Str300 = ""
    charge: ChargeIn
    taxes: list[TaxIn] | None = Field(default=None, max_length=20)  # None: the previous's
    rounding: Rounding = "half_up"


class TariffIn(_Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    name: str
    unit: str
    currency: str = "VND"
    utility: str = ""
    category: str = ""
    description: str = ""
    versions: list[VersionIn] = Field(min_length=1)


def to_charge(c: ChargeIn) -> Charge:
    if c.kind == "flat":
        if c.price is None:
            raise TariffDataError("a flat charge needs a price")
        return FlatCharge(c.price, c.label)
    if c.kind == "tou":
        return TouCharge(dict(c.prices))
    blocks = tuple(Block(b.width, b.price, b.label) for b in c.blocks)
    return TieredCharge(blocks, c.accumulate, c.scale, c.prorate)


def to_taxes(taxes: list[TaxIn]) -> tuple[TaxRule, ...]:
    return tuple(
        TaxRule(
            t.code,
            t.description,
            tuple(t.base),
            tuple(DatedRate(r.rate, r.start, r.end) for r in t.rates),
            t.rounding,
        )
        for t in taxes
    )


def to_version(v: VersionIn, inherited: tuple[TaxRule, ...] = ()) -> TariffVersion:
    taxes = inherited if v.taxes is None else to_taxes(v.taxes)
    return TariffVersion(v.effective_from, v.source, to_charge(v.charge), taxes, v.rounding)


def to_tariff(t: TariffIn) -> Tariff:
    currency = CURRENCIES.get(t.currency)
    if currency is None:
        raise TariffDataError(f"tariff {t.code!r}: unknown currency {t.currency!r}")
    versions: list[TariffVersion] = []
    taxes: tuple[TaxRule, ...] = ()
    for v in sorted(t.versions, key=lambda v: v.effective_from):
        try:
            version = to_version(v, taxes)
        except TariffError as exc:
            raise TariffDataError(
                f"tariff {t.code!r} version {v.effective_from.isoformat()}: {exc}"
            ) from exc
        taxes = version.taxes
        versions.append(version)
    return Tariff(
        t.code,
        t.name,
        t.unit,
        currency,
        tuple(versions),
        t.utility,
        t.category,
        t.description,
    )


def parse_tariff(data: object, where: str) -> Tariff:
    """Validate raw data (from TOML or JSON) into a :class:`Tariff`, naming ``where`` on error."""
    try:
        model = TariffIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "<top>"
        raise TariffDataError(f"{where}: key '{key}': {first['msg']}") from exc
    try:
        return to_tariff(model)
    except TariffError as exc:
        raise TariffDataError(f"{where}: {exc}") from exc


def version_out(v: TariffVersion) -> VersionIn:
    """The input shape of a version (what ``GET`` returns and ``POST`` accepts)."""
    c = v.charge
    if isinstance(c, FlatCharge):
        charge = ChargeIn(kind="flat", price=c.price, label=c.label)
    elif isinstance(c, TouCharge):
        charge = ChargeIn(kind="tou", prices=dict(c.prices))
    else:
        charge = ChargeIn(
            kind="tiered",
            blocks=[BlockIn(width=b.width, price=b.price, label=b.label) for b in c.blocks],
            accumulate=c.accumulate,
            scale=c.scale,
            prorate=c.prorate,
        )
    taxes = [
        TaxIn(
            code=t.code,
            description=t.description,
            base=list(t.base),
            rounding=t.rounding,
            rates=[RateIn(rate=r.rate, start=r.start, end=r.end) for r in t.rates],
        )
        for t in v.taxes
    ]
    return VersionIn(
        effective_from=v.effective_from,
        source=v.source,
        charge=charge,
        taxes=taxes,
        rounding=v.rounding,
    )
