"""Applications and fault reports: submitted by anyone with contact and address, tracked by
number; an application may name an account, which must exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.records import CustomerRow
from central.db.models.service import ApplicationRow, FaultReportRow
from central.records.errors import Conflict, Invalid, NotFound
from central.service.numbers import assign, placeholder
from central.service.schemas import ApplicationIn, ApplicationStateIn, FaultIn

Clock = Callable[[], datetime]
PREFIX = {
    "new_connection": "HS-LM",
    "capacity_change": "HS-CS",
    "name_change": "HS-TT",
    "meter_check": "HS-KD",
}
# Which state may follow which: an application ends done, rejected or cancelled.
NEXT = {
    "submitted": {"accepted", "rejected", "cancelled"},
    "accepted": {"in_progress", "rejected", "cancelled"},
    "in_progress": {"done", "cancelled"},
}


def _customer(session: Session, account_no: str | None) -> int | None:
    if not account_no:
        return None
    found = session.scalar(select(CustomerRow.id).where(CustomerRow.account_no == account_no))
    if found is None:
        raise Invalid("account_no", f"no account {account_no!r}")
    return found


def submit_application(session: Session, data: ApplicationIn, *, clock: Clock) -> ApplicationRow:
    now = clock()
    row = ApplicationRow(
        number=placeholder(),
        kind=data.kind,
        customer_id=_customer(session, data.account_no),
        applicant=data.applicant,
        phone=data.phone,
        email=data.email,
        address=data.address,
        detail=data.detail,
        state="submitted",
        note="",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    assign(session, row, PREFIX[data.kind], now)
    return row


def application(session: Session, number: str, *, kind: str | None = None) -> ApplicationRow:
    row = session.scalar(select(ApplicationRow).where(ApplicationRow.number == number))
    if row is None or (kind is not None and row.kind != kind):
        raise NotFound(f"no application {number!r}" + (f" of kind {kind}" if kind else ""))
    return row


def move_application(
    session: Session, number: str, data: ApplicationStateIn, *, clock: Clock
) -> ApplicationRow:
    row = application(session, number)
    if data.state not in NEXT.get(row.state, set()):
        raise Conflict(f"application {number} is {row.state}; it cannot become {data.state}")
    row.state, row.note, row.updated_at = data.state, data.note, clock()
    session.flush()
    return row


def report_fault(session: Session, data: FaultIn, *, clock: Clock) -> FaultReportRow:
    now = clock()
    row = FaultReportRow(
        number=placeholder(),
        customer_id=_customer(session, data.account_no),
        reporter=data.reporter,
        phone=data.phone,
        description=data.description,
        address=data.address,
        latitude=data.latitude,
        longitude=data.longitude,
        state="open",
        created_at=now,
    )
    session.add(row)
    assign(session, row, "SC", now)
    return row


def fault(session: Session, number: str) -> FaultReportRow:
    row = session.scalar(select(FaultReportRow).where(FaultReportRow.number == number))
    if row is None:
        raise NotFound(f"no fault report {number!r}")
    return row
