"""Work orders (seed 003): created from an application, a fault report or by staff; assigned,
moved through their states with every change kept, the result entered after the work, files
attached; listed per customer as part of its service history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.records import CustomerRow
from central.db.models.service import WorkOrderEventRow, WorkOrderFileRow, WorkOrderRow
from central.records.errors import Conflict, Invalid, NotFound
from central.service.numbers import assign, placeholder
from central.service.requests import application, fault
from central.service.schemas import WorkOrderIn, WorkOrderUpdate

Clock = Callable[[], datetime]
NEXT = {
    "open": {"assigned", "cancelled"},
    "assigned": {"in_progress", "assigned", "cancelled"},
    "in_progress": {"done", "cancelled"},
}


def create(session: Session, data: WorkOrderIn, *, by: str, clock: Clock) -> WorkOrderRow:
    now = clock()
    source, application_id, fault_id, customer_id = "staff", None, None, data.customer_id
    if data.application_number and data.fault_number:
        raise Invalid("application_number", "name an application or a fault report, not both")
    if data.application_number:
        app = application(session, data.application_number)
        source, application_id = "application", app.id
        customer_id = customer_id or app.customer_id
        if app.state == "submitted":
            app.state, app.updated_at = "accepted", now
    elif data.fault_number:
        report = fault(session, data.fault_number)
        source, fault_id = "fault", report.id
        customer_id = customer_id or report.customer_id
        report.state = "assigned"
    if customer_id is not None and session.get(CustomerRow, customer_id) is None:
        raise Invalid("customer_id", f"no customer {customer_id}")
    state = "assigned" if data.assignee else "open"
    row = WorkOrderRow(
        number=placeholder(),
        kind=data.kind,
        source=source,
        application_id=application_id,
        fault_id=fault_id,
        customer_id=customer_id,
        description=data.description,
        assignee=data.assignee,
        state=state,
        result="",
        created_at=now,
        created_by=by,
        updated_at=now,
    )
    session.add(row)
    assign(session, row, "PCV", now)
    session.add(WorkOrderEventRow(work_order_id=row.id, at=now, by=by, state=state, note="created"))
    session.flush()
    return row


def get(session: Session, number: str) -> WorkOrderRow:
    row = session.scalar(select(WorkOrderRow).where(WorkOrderRow.number == number))
    if row is None:
        raise NotFound(f"no work order {number!r}")
    return row


def update(
    session: Session, number: str, data: WorkOrderUpdate, *, by: str, clock: Clock
) -> WorkOrderRow:
    row = get(session, number)
    now = clock()
    if data.assignee is not None:
        row.assignee = data.assignee
    state = data.state or ("assigned" if data.assignee and row.state == "open" else row.state)
    if state != row.state and state not in NEXT.get(row.state, set()):
        raise Conflict(f"work order {number} is {row.state}; it cannot become {state}")
    if state == "assigned" and not row.assignee:
        raise Invalid("assignee", "an assigned work order needs an assignee")
    if data.result is not None:
        row.result = data.result
    if state == "done":
        if not row.result:
            raise Invalid("result", "enter the result of the work before closing it")
        row.done_at = now
    row.state, row.updated_at = state, now
    session.add(WorkOrderEventRow(work_order_id=row.id, at=now, by=by, state=state, note=data.note))
    session.flush()
    return row


def events(session: Session, work_order_id: int) -> list[WorkOrderEventRow]:
    return list(
        session.scalars(
            select(WorkOrderEventRow)
            .where(WorkOrderEventRow.work_order_id == work_order_id)
            .order_by(WorkOrderEventRow.id)
        )
    )


def of_customer(session: Session, customer_id: int) -> list[WorkOrderRow]:
    return list(
        session.scalars(
            select(WorkOrderRow)
            .where(WorkOrderRow.customer_id == customer_id)
            .order_by(WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc())
        )
    )


def listing(
    session: Session, *, state: str | None, assignee: str | None, limit: int, offset: int
) -> list[WorkOrderRow]:
    query = select(WorkOrderRow).order_by(WorkOrderRow.id.desc()).limit(limit).offset(offset)
    if state:
        query = query.where(WorkOrderRow.state == state)
    if assignee:
        query = query.where(WorkOrderRow.assignee == assignee)
    return list(session.scalars(query))


def attach(
    session: Session,
    number: str,
    *,
    filename: str,
    content_type: str,
    data: bytes,
    by: str,
    clock: Clock,
) -> WorkOrderFileRow:
    row = get(session, number)
    file = WorkOrderFileRow(
        work_order_id=row.id,
        filename=filename,
        content_type=content_type,
        data=data,
        uploaded_at=clock(),
        uploaded_by=by,
    )
    session.add(file)
    session.flush()
    return file


def file(session: Session, number: str, file_id: int) -> WorkOrderFileRow:
    row = get(session, number)
    found = session.get(WorkOrderFileRow, file_id)
    if found is None or found.work_order_id != row.id:
        raise NotFound(f"work order {number} has no file {file_id}")
    return found
