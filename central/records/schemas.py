"""Pydantic models at the edge of records: what REST and Excel rows carry in and out."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from central.types import (
    Code,
    Day,
    Id,
    Instant,
    Key,
    Measure,
    Moment,
    Name,
    Note,
    Reason,
    Str32,
    Str64,
    Str100,
    Str200,
    Str300,
)

PaymentMethod = Literal["cash", "bank_transfer", "vnpay", "vietqr", "card", "auto_debit", "other"]
CustomerStatus = Literal["active", "suspended", "disconnected", "closed"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UtilityIn(_In):
    code: str = Field(pattern=r"^[a-z0-9-]{2,32}$")
    name: Name
    account_pattern: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="an RE2 regular expression (linear time), matched against the whole "
        "account number",
    )
    account_hint: Str200 = ""


class CustomerIn(_In):
    utility_code: Code
    account_no: Code
    name: Name
    address: Str300 = ""
    phone: str = Field(default="", pattern=r"^[0-9+ ]{0,20}$")
    category: Str64 = "residential"
    tariff_code: Key
    persons: int = Field(default=0, ge=0, le=1000)
    households: int = Field(default=1, ge=1, le=1000)
    industry: Str100 = ""
    payment_method: PaymentMethod = "cash"
    status: CustomerStatus = "active"
    route_code: Str32 | None = None
    premise_id: Id | None = None


class CustomerPatch(_In):
    """Fields to change; ``reason`` goes into the history."""

    account_no: Code | None = None
    name: Name | None = None
    address: Str300 | None = None
    phone: str | None = Field(default=None, pattern=r"^[0-9+ ]{0,20}$")
    category: Str64 | None = None
    tariff_code: Key | None = None
    persons: int | None = Field(default=None, ge=0, le=1000)
    households: int | None = Field(default=None, ge=1, le=1000)
    industry: Str100 | None = None
    payment_method: PaymentMethod | None = None
    status: CustomerStatus | None = None
    route_code: Str32 | None = None
    reason: Str300 = ""
    # from when persons, households, tariff, category or route hold (default: today)
    effective_from: Day | None = None


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    utility_code: str
    account_no: str
    name: str
    address: str
    phone: str
    category: str
    tariff_code: str
    persons: int
    households: int
    industry: str
    payment_method: str
    status: str
    route_id: int | None
    premise_id: int | None


class ChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    field: str
    old_value: str | None
    new_value: str | None
    changed_at: Instant
    changed_by: str
    reason: str
    effective_from: date | None


class MeterIn(_In):
    meter_id: Key
    # the billed register; default: "volume" for a water tariff's customer, else
    # "energy_import"
    quantity: Key | None = None
    account_no: Code | None = None  # the customer it measures (with utility_code)
    utility_code: Code | None = None
    brand: Str64 = ""
    serial: Str64 = ""
    size: Str32 = ""
    digits: int = Field(default=6, ge=1, le=12)
    multiplier: int = Field(default=1, ge=1, le=100_000)
    installed_on: Day | None = None
    calibrated_on: Day | None = None
    replaced_on: Day | None = None
    installer: Str100 = ""


class MeterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    meter_id: str
    quantity: str
    customer_id: int | None
    brand: str
    serial: str
    size: str
    digits: int
    multiplier: int
    installed_on: date | None
    calibrated_on: date | None
    replaced_on: date | None
    installer: str
    status: str


class ExchangeIn(_In):
    new: MeterIn
    exchanged_at: Moment
    old_final_value: Measure
    new_initial_value: Measure = 0.0


class StationIn(_In):
    code: Code
    name: Name


class RouteIn(_In):
    code: Code
    name: Name
    station_code: Str32 | None = None
    reading_day: int = Field(default=1, ge=1, le=28)
    reader: Str100 = ""


class PremiseIn(_In):
    address: Annotated[Str300, Field(min_length=1)]
    latitude: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    route_code: Str32 | None = None


class ScheduleOut(BaseModel):
    route_code: str
    next_reading: date | None
    last_readings: list[date]


class ContractIn(_In):
    number: Key
    signed_on: Day | None = None
    note: Note = ""


class ManualReadingIn(_In):
    meter_id: Key
    value: Measure
    ts: Moment
    quantity: Key | None = None  # default: the meter's billed quantity
    reader: Str100 = ""
    latitude: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    note: Note = ""
    photo_base64: str | None = Field(default=None, max_length=7 * 1024 * 1024)
    photo_type: Literal["image/jpeg", "image/png"] = "image/jpeg"


class CorrectionIn(_In):
    value: Measure
    reason: Reason
