"""Customer service history as typed events, read from the audited changes.

| event | from the change of |
|---|---|
| ``connection`` | the account's creation, a status back to ``active`` |
| ``installation`` | a meter installed at the customer |
| ``meter_change`` | a meter exchange |
| ``station_transfer`` | the route (and so the station) |
| ``suspension`` | a status to ``suspended``, ``disconnected`` or ``closed`` |
| ``information_change`` | any other field (name, address, phone, persons, tariff...) |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from central.db.models.records import CustomerChangeRow, CustomerRow
from central.records import customers
from central.records.errors import Invalid
from central.records.listing import Page, PageQuery, page

EventType = Literal[
    "connection",
    "installation",
    "meter_change",
    "station_transfer",
    "suspension",
    "information_change",
]
TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
STOPPED = ("suspended", "disconnected", "closed")


@dataclass(frozen=True)
class Event:
    id: int
    customer_id: int
    account_no: str
    type: str
    at: datetime
    effective_from: date | None
    field: str
    old_value: str | None
    new_value: str | None
    by: str
    reason: str


def kind(field: str, new_value: str | None) -> str:
    if field == "created" or (field == "status" and new_value == "active"):
        return "connection"
    if field == "status" and new_value in STOPPED:
        return "suspension"
    return {
        "meter_installed": "installation",
        "meter": "meter_change",
        "route_id": "station_transfer",
    }.get(field, "information_change")


def _where(event_type: str) -> object:
    c = CustomerChangeRow
    if event_type == "connection":
        return or_(c.field == "created", and_(c.field == "status", c.new_value == "active"))
    if event_type == "suspension":
        return and_(c.field == "status", c.new_value.in_(STOPPED))
    fields = {
        "installation": "meter_installed",
        "meter_change": "meter",
        "station_transfer": "route_id",
    }
    if event_type in fields:
        return c.field == fields[event_type]
    special = ("created", "status", *fields.values())
    return c.field.not_in(special)


def events(
    session: Session,
    query: PageQuery,
    *,
    customer_id: int | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[Event], int]:
    """Events of one customer, or across customers; filtered by type and time."""
    c = CustomerChangeRow
    stmt = select(c, CustomerRow.account_no).join(CustomerRow, CustomerRow.id == c.customer_id)
    if customer_id is not None:
        customers.get(session, customer_id)
        stmt = stmt.where(c.customer_id == customer_id)
    if event_type is not None:
        if event_type not in TYPES:
            raise Invalid("type", f"{event_type!r}: one of {', '.join(TYPES)}")
        stmt = stmt.where(_where(event_type))  # type: ignore[arg-type]
    if since is not None:
        stmt = stmt.where(c.changed_at >= since)
    if until is not None:
        stmt = stmt.where(c.changed_at < until)
    found: Page = page(session, stmt, query, sorts={"at": c.changed_at, "id": c.id}, tie=c.id)
    out = [
        Event(
            row.id,
            row.customer_id,
            account_no,
            kind(row.field, row.new_value),
            row.changed_at,
            row.effective_from,
            row.field,
            row.old_value,
            row.new_value,
            row.changed_by,
            row.reason,
        )
        for row, account_no in found.rows
    ]
    return out, found.total
