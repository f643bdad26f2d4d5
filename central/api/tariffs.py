"""``/api/v1/tariffs``: list tariffs, quote a bill, add a version."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from central.api.deps import CatalogDep, ClockDep, FilesDep, OperatorDep, SessionDep
from central.auth import Role, allow, public
from central.tariffs import QuoteError, TariffDataError, Usage, quote
from central.tariffs.model import Tariff
from central.tariffs.schema import VersionIn, version_out
from central.tariffs.store import UnknownTariff, VersionExists, add_version

router = APIRouter(prefix="/tariffs", tags=["tariffs"])


def _number(value: Decimal) -> int | float:
    """A JSON number: an integer when whole (amounts, VND prices), else a short decimal."""
    return int(value) if value == value.to_integral_value() else float(value)


Number = Annotated[Decimal, PlainSerializer(_number, return_type=int | float)]


class VersionSummary(BaseModel):
    effective_from: date
    source: str
    kind: str


class TariffSummary(BaseModel):
    code: str
    name: str
    kind: str
    source: str  # the decision of the latest version
    utility: str
    category: str
    unit: str
    currency: str
    versions: list[VersionSummary]


class TariffDetail(TariffSummary):
    definitions: list[VersionIn]


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consumption: Decimal = Field(ge=0, le=10**9)
    period_start: date
    period_end: date
    households: int = Field(default=1, ge=1, le=1000)
    persons: int | None = Field(default=None, ge=0, le=10_000)
    prior_consumption: Decimal = Field(default=Decimal(0), ge=0)
    bands: dict[str, Decimal] = Field(default_factory=dict)


class QuoteLine(BaseModel):
    description: str
    quantity: Number
    unit_price: Number  # minor units per unit
    amount: int


class QuoteTax(BaseModel):
    description: str
    base: int
    rate: Number
    amount: int


class QuoteResponse(BaseModel):
    lines: list[QuoteLine]
    subtotal: int
    taxes: list[QuoteTax]
    total: int
    currency: str


def _summary(t: Tariff) -> dict[str, object]:
    return {
        "code": t.code,
        "name": t.name,
        "kind": t.kind,
        "source": t.versions[-1].source,
        "utility": t.utility,
        "category": t.category,
        "unit": t.unit,
        "currency": t.currency.code,
        "versions": [
            VersionSummary(
                effective_from=v.effective_from, source=v.source, kind=v.charge.kind_name
            )
            for v in t.versions
        ],
    }


def _get(catalog: CatalogDep, code: str) -> Tariff:
    if code not in catalog:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no tariff {code!r}")
    return catalog[code]


@router.get("", dependencies=[public()])
def list_tariffs(catalog: CatalogDep) -> list[TariffSummary]:
    return [TariffSummary.model_validate(_summary(catalog[code])) for code in catalog]


@router.get("/{code}", dependencies=[public()])
def get_tariff(catalog: CatalogDep, code: str) -> TariffDetail:
    tariff = _get(catalog, code)
    return TariffDetail.model_validate(
        {**_summary(tariff), "definitions": [version_out(v) for v in tariff.versions]}
    )


@router.post("/{code}/quote", dependencies=[public()])
def quote_tariff(catalog: CatalogDep, code: str, body: QuoteRequest) -> QuoteResponse:
    tariff = _get(catalog, code)
    usage = Usage(
        body.consumption,
        body.period_start,
        body.period_end,
        households=body.households,
        persons=body.persons,
        prior_consumption=body.prior_consumption,
        bands=body.bands,
    )
    try:
        result = quote(tariff, usage)
    except QuoteError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return QuoteResponse(
        lines=[
            QuoteLine(
                description=ln.description,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                amount=ln.amount,
            )
            for ln in result.lines
        ],
        subtotal=result.subtotal,
        taxes=[
            QuoteTax(description=t.description, base=t.base, rate=t.rate, amount=t.amount)
            for t in result.taxes
        ],
        total=result.total,
        currency=result.currency,
    )


@router.post(
    "/{code}/versions",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Role.BILLING_CLERK)],
)
def create_version(
    session: SessionDep,
    files: FilesDep,
    clock: ClockDep,
    operator: OperatorDep,
    code: str,
    body: VersionIn,
) -> VersionSummary:
    try:
        version = add_version(session, files, code, body, by=operator, clock=clock)
    except UnknownTariff as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except VersionExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except TariffDataError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return VersionSummary(
        effective_from=version.effective_from, source=version.source, kind=version.charge.kind_name
    )
