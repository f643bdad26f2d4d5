"""Collection reports as JSON and Excel: money per business day by channel, by method, by
cashier and by route (seed 003's receipts by payment method), the open exceptions, and the
ageing of what bills still need."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db.models.billing import BillRow
from central.db.models.payments import AllocationRow, PaymentExceptionRow, PaymentRow
from central.db.models.records import CustomerRow, RouteRow
from central.payments import ledger

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOCAL = timedelta(hours=7)
BUCKETS = ((30, "0-30"), (60, "31-60"), (90, "61-90"), (10**6, "90+"))


def _collections(session: Session, start: date, end: date) -> list[dict[str, Any]]:
    lo = datetime.combine(start, time(0), UTC) - LOCAL
    hi = datetime.combine(end + timedelta(days=1), time(0), UTC) - LOCAL
    rows = session.execute(
        select(
            PaymentRow.paid_at,
            PaymentRow.channel,
            PaymentRow.method,
            PaymentRow.taken_by,
            RouteRow.code,
            PaymentRow.amount,
        )
        .outerjoin(CustomerRow, CustomerRow.id == PaymentRow.customer_id)
        .outerjoin(RouteRow, RouteRow.id == CustomerRow.route_id)
        .where(
            PaymentRow.paid_at >= lo,
            PaymentRow.paid_at < hi,
            PaymentRow.status.in_(ledger.COUNTING),
        )
    ).all()
    sums: dict[tuple[str, str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for paid_at, channel, method, taken_by, route, amount in rows:
        day = (paid_at + LOCAL).date().isoformat()
        acc = sums[(day, channel, method, taken_by, route or "")]
        acc[0] += 1
        acc[1] += amount
    return [
        {
            "day": k[0],
            "channel": k[1],
            "method": k[2],
            "cashier": k[3],
            "route": k[4],
            "payments": v[0],
            "amount": v[1],
        }
        for k, v in sorted(sums.items())
    ]


def _ageing(session: Session, today: date) -> list[dict[str, Any]]:
    alloc = (
        select(AllocationRow.bill_id, func.sum(AllocationRow.amount).label("paid"))
        .group_by(AllocationRow.bill_id)
        .subquery()
    )
    rows = session.execute(
        select(BillRow.id, BillRow.total, BillRow.period_end, alloc.c.paid)
        .outerjoin(alloc, alloc.c.bill_id == BillRow.id)
        .where(BillRow.state.in_(("issued", "partially_paid")))
    ).all()
    bills = {label: 0 for _, label in BUCKETS}
    owed = {label: 0 for _, label in BUCKETS}
    for _bid, total, period_end, paid in rows:
        age = (today - period_end).days
        label = next(lbl for limit, lbl in BUCKETS if age <= limit)
        bills[label] += 1
        owed[label] += max(0, total - int(paid or 0))  # before adjustments
    return [{"bucket": lbl, "bills": bills[lbl], "open": owed[lbl]} for _, lbl in BUCKETS]


def build(session: Session, start: date, end: date, *, now: datetime) -> dict[str, Any]:
    collections = _collections(session, start, end)
    by: dict[str, dict[str, int]] = {"channel": {}, "method": {}, "cashier": {}, "route": {}}
    for row in collections:
        for key, table in by.items():
            table[row[key]] = table.get(row[key], 0) + row["amount"]
    open_ex = session.execute(
        select(
            PaymentExceptionRow.kind,
            func.count(),
            func.coalesce(func.sum(PaymentExceptionRow.amount), 0),
        )
        .where(PaymentExceptionRow.status == "open")
        .group_by(PaymentExceptionRow.kind)
    ).all()
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "collections": collections,
        "totals": by,
        "open_exceptions": [{"kind": k, "count": c, "amount": int(a)} for k, c, a in open_ex],
        "ageing": _ageing(session, (now + LOCAL).date()),
    }


def to_xlsx(report: dict[str, Any]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Collections"
    cols = ["day", "channel", "method", "cashier", "route", "payments", "amount"]
    sheet.append(cols)
    for row in report["collections"]:
        sheet.append([row[c] for c in cols])
    totals = book.create_sheet("Totals")
    totals.append(["by", "key", "amount"])
    for by, table in report["totals"].items():
        for key, amount in sorted(table.items()):
            totals.append([by, key, amount])
    ex = book.create_sheet("Open exceptions")
    ex.append(["kind", "count", "amount"])
    for e in report["open_exceptions"]:
        ex.append([e["kind"], e["count"], e["amount"]])
    age = book.create_sheet("Ageing")
    age.append(["bucket (days)", "bills", "open"])
    for a in report["ageing"]:
        age.append([a["bucket"], a["bills"], a["open"]])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
