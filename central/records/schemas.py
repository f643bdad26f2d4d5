"""Pydantic models at the edge of records: what REST and Excel rows carry in and out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PaymentMethod = Literal["cash", "bank_transfer", "vnpay", "vietqr", "card", "auto_debit", "other"]
CustomerStatus = Literal["active", "suspended", "disconnected", "closed"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UtilityIn(_In):
    code: str = Field(pattern=r"^[a-z0-9-]{2,32}$")
    name: str = Field(min_length=1)
    account_pattern: str = Field(min_length=1)
    account_hint: str = ""


class CustomerIn(_In):
    utility_code: str
    account_no: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    address: str = ""
    phone: str = Field(default="", pattern=r"^[0-9+ ]{0,20}$")
    category: str = "residential"
    tariff_code: str
    persons: int = Field(default=0, ge=0, le=1000)
    households: int = Field(default=1, ge=1, le=1000)
    industry: str = ""
    payment_method: PaymentMethod = "cash"
    status: CustomerStatus = "active"
    route_code: str | None = None
    premise_id: int | None = None


class CustomerPatch(_In):
    """Fields to change; ``reason`` goes into the history."""

    account_no: str | None = Field(default=None, min_length=1, max_length=32)
    name: str | None = None
    address: str | None = None
    phone: str | None = Field(default=None, pattern=r"^[0-9+ ]{0,20}$")
    category: str | None = None
    tariff_code: str | None = None
    persons: int | None = Field(default=None, ge=0, le=1000)
    households: int | None = Field(default=None, ge=1, le=1000)
    industry: str | None = None
    payment_method: PaymentMethod | None = None
    status: CustomerStatus | None = None
    route_code: str | None = None
    reason: str = ""
    # from when persons, households, tariff, category or route hold (default: today)
    effective_from: date | None = None


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
    changed_at: datetime
    changed_by: str
    reason: str
    effective_from: date | None


class MeterIn(_In):
    meter_id: str = Field(min_length=1, max_length=64)
    # the billed register; default: "volume" for a water tariff's customer, else
    # "energy_import"
    quantity: str | None = Field(default=None, min_length=1, max_length=64)
    account_no: str | None = None  # the customer it measures (with utility_code)
    utility_code: str | None = None
    brand: str = ""
    serial: str = ""
    size: str = ""
    digits: int = Field(default=6, ge=1, le=12)
    multiplier: int = Field(default=1, ge=1, le=100_000)
    installed_on: date | None = None
    calibrated_on: date | None = None
    replaced_on: date | None = None
    installer: str = ""


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
    exchanged_at: datetime
    old_final_value: float = Field(ge=0)
    new_initial_value: float = Field(default=0.0, ge=0)


class StationIn(_In):
    code: str = Field(min_length=1, max_length=32)
    name: str


class RouteIn(_In):
    code: str = Field(min_length=1, max_length=32)
    name: str
    station_code: str | None = None
    reading_day: int = Field(default=1, ge=1, le=28)
    reader: str = ""


class PremiseIn(_In):
    address: str = Field(min_length=1, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    route_code: str | None = None


class ScheduleOut(BaseModel):
    route_code: str
    next_reading: date | None
    last_readings: list[date]


class ContractIn(_In):
    number: str = Field(min_length=1, max_length=64)
    signed_on: date | None = None
    note: str = ""


class ManualReadingIn(_In):
    meter_id: str
    value: float = Field(ge=0)
    ts: datetime
    quantity: str | None = None  # default: the meter's billed quantity
    reader: str = ""
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    note: str = ""
    photo_base64: str | None = None
    photo_type: str = "image/jpeg"


class CorrectionIn(_In):
    value: float = Field(ge=0)
    reason: str = Field(min_length=3, max_length=300)
