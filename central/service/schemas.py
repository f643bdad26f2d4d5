"""What the service routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _printable(value: str) -> str:
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ValueError("control characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(_printable)]
ApplicationKind = Literal["new_connection", "capacity_change", "name_change", "meter_check"]
ApplicationState = Literal["submitted", "accepted", "in_progress", "done", "rejected", "cancelled"]
WorkState = Literal["open", "assigned", "in_progress", "done", "cancelled"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApplicationIn(_In):
    kind: ApplicationKind
    account_no: Text | None = Field(default=None, max_length=32)
    applicant: Text = Field(min_length=1, max_length=200)
    phone: str = Field(pattern=r"^\+?[0-9]{6,15}$")
    email: str = Field(default="", max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")
    address: Text = Field(min_length=1, max_length=300)
    detail: Text = Field(default="", max_length=2000)


class ApplicationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: str
    kind: str
    state: str
    note: str
    created_at: datetime
    updated_at: datetime


class ApplicationStateIn(_In):
    state: ApplicationState
    note: Text = Field(default="", max_length=1000)


class FaultIn(_In):
    account_no: Text | None = Field(default=None, max_length=32)
    reporter: Text = Field(min_length=1, max_length=200)
    phone: str = Field(pattern=r"^\+?[0-9]{6,15}$")
    description: Text = Field(min_length=1, max_length=2000)
    address: Text = Field(default="", max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)


class FaultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: str
    state: str
    created_at: datetime


class WorkOrderIn(_In):
    kind: Text = Field(min_length=1, max_length=32)
    customer_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    application_number: str | None = Field(default=None, max_length=32)
    fault_number: str | None = Field(default=None, max_length=32)
    description: Text = Field(default="", max_length=2000)
    assignee: Text = Field(default="", max_length=100)


class WorkOrderUpdate(_In):
    state: WorkState | None = None
    assignee: Text | None = Field(default=None, max_length=100)
    result: Text | None = Field(default=None, max_length=2000)
    note: Text = Field(default="", max_length=2000)


class WorkEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    by: str
    state: str
    note: str


class WorkOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    kind: str
    source: str
    customer_id: int | None
    description: str
    assignee: str
    state: str
    result: str
    created_at: datetime
    created_by: str
    done_at: datetime | None
    events: list[WorkEventOut] = []


class OutageIn(_In):
    kind: Literal["planned", "unplanned"]
    area: Text = Field(min_length=1, max_length=200)
    reason: Text = Field(default="", max_length=1000)
    starts_at: datetime
    expected_restore_at: datetime
    station_codes: list[Annotated[str, Field(max_length=32)]] = Field(default=[], max_length=100)
    route_codes: list[Annotated[str, Field(max_length=32)]] = Field(default=[], max_length=500)


class OutageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    area: str
    reason: str
    starts_at: datetime
    expected_restore_at: datetime
    restored_at: datetime | None
    cancelled: bool
