"""Lists of bills and runs, and a run's bills and skips as an Excel workbook for the clerk to
check before issuing."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.billing import runs
from central.db.models.billing import BillingRunRow, BillingSkipRow, BillRow
from central.db.models.records import CustomerRow, RouteRow
from central.records.errors import Invalid
from central.records.listing import Page, PageQuery, page

STATES = ("draft", "issued", "paid", "partially_paid", "cancelled")


def bills(
    session: Session,
    query: PageQuery,
    *,
    run_id: int | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
    route_code: str | None = None,
    state: str | None = None,
    customer_id: int | None = None,
) -> Page:
    """Bills by run, period (exact start and/or end), the customer's route, state."""
    b = BillRow
    stmt = select(b)
    if run_id is not None:
        stmt = stmt.where(b.run_id == run_id)
    if period_start is not None:
        stmt = stmt.where(b.period_start == period_start)
    if period_end is not None:
        stmt = stmt.where(b.period_end == period_end)
    if route_code:
        route = session.scalar(select(RouteRow.id).where(RouteRow.code == route_code))
        if route is None:
            raise Invalid("route_code", f"no route {route_code!r}")
        stmt = stmt.join(CustomerRow, CustomerRow.id == b.customer_id).where(
            CustomerRow.route_id == route
        )
    if state:
        stmt = stmt.where(b.state == state)
    if customer_id is not None:
        stmt = stmt.where(b.customer_id == customer_id)
    sorts = {"id": b.id, "account_no": b.account_no, "total": b.total, "period_end": b.period_end}
    return page(session, stmt, query, sorts=sorts, tie=b.id)


def run_list(session: Session, query: PageQuery, *, status: str | None = None) -> Page:
    r = BillingRunRow
    stmt = select(r.id)
    if status:
        stmt = stmt.where(r.status == status)
    sorts = {"id": r.id, "period_end": r.period_end, "created_at": r.created_at}
    return page(session, stmt, query, sorts=sorts, tie=r.id)


BILL_COLUMNS = [
    "bill_id",
    "account_no",
    "customer",
    "route",
    "meter_id",
    "previous_index",
    "current_index",
    "consumption",
    "estimated",
    "flags",
    "subtotal",
    "tax_total",
    "total",
    "state",
]


def export_run(session: Session, run_id: int) -> bytes:
    """Two sheets: ``bills`` (one row per bill, its lines summed) and ``skipped`` (account,
    name, reason)."""
    runs.progress(session, run_id)  # NotFound for an unknown run
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("bills")
    sheet.append(BILL_COLUMNS)
    rows = session.execute(
        select(BillRow, CustomerRow.name, RouteRow.code)
        .join(CustomerRow, CustomerRow.id == BillRow.customer_id)
        .outerjoin(RouteRow, RouteRow.id == CustomerRow.route_id)
        .where(BillRow.run_id == run_id)
        .order_by(BillRow.account_no)
    )
    for bill, name, route in rows:
        sheet.append(
            [
                bill.id,
                bill.account_no,
                _safe(name),
                route,
                bill.meter_id,
                bill.previous_index,
                bill.current_index,
                bill.consumption,
                bill.estimated,
                bill.flags,
                bill.subtotal,
                bill.tax_total,
                bill.total,
                bill.state,
            ]
        )
    skipped = wb.create_sheet("skipped")
    skipped.append(["customer_id", "account_no", "customer", "reason"])
    for cid, acc, name, reason in session.execute(
        select(
            BillingSkipRow.customer_id,
            CustomerRow.account_no,
            CustomerRow.name,
            BillingSkipRow.reason,
        )
        .outerjoin(CustomerRow, CustomerRow.id == BillingSkipRow.customer_id)
        .where(BillingSkipRow.run_id == run_id)
        .order_by(BillingSkipRow.customer_id)
    ):
        skipped.append([cid, acc, _safe(name or ""), _safe(reason)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _safe(text: str) -> str:
    """Control characters are not allowed in a sheet cell; a leading = is not a formula."""
    clean = "".join(c if c >= " " or c in "\t\n" else " " for c in text)
    return "'" + clean if clean[:1] in ("=", "+", "-", "@") else clean
