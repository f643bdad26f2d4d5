"""Daily reconciliation per channel: the provider's file against recorded payments.

Provider files become ``statement_lines`` once per ``(source, ref)``: the bank statement
(whose credits are also booked as transfers, so a transfer the webhook missed still lands)
and VNPay's daily report. ``reconcile_day`` compares one day of one channel and opens an
exception for every suggestion, duplicate and one-sided item.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Engine, and_, exists, func, insert, literal, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.db.models.payments import PaymentExceptionRow, PaymentRow, StatementLineRow
from central.payments import bank, ledger, matching
from central.payments.idempotency import writer
from central.payments.statements import Line, StatementError, parse_amount, parse_date

LOCAL = timedelta(hours=7)  # the business day is Vietnam's


@dataclass(frozen=True)
class ImportResult:
    import_id: str
    lines: int
    new_lines: int
    booked: int  # transfers first seen in this statement


def store_lines(
    session: Session, source: str, lines: Iterable[Line], *, import_id: str, now: datetime
) -> list[tuple[StatementLineRow, bool]]:
    out = []
    for line in lines:
        found = session.scalar(
            select(StatementLineRow).where(
                StatementLineRow.source == source, StatementLineRow.ref == line.ref
            )
        )
        if found is not None:
            if found.amount != line.amount:
                bank.exception(
                    session,
                    kind="duplicate",
                    subject=f"{source}:{line.ref}",
                    channel=source,
                    amount=line.amount,
                    now=now,
                    line_id=found.id,
                    detail=f"{line.ref} listed again with {line.amount}, first {found.amount}",
                )
            out.append((found, False))
            continue
        row = StatementLineRow(
            source=source,
            ref=line.ref[:100],
            value_date=line.value_date,
            amount=line.amount,
            description=line.description[:500],
            import_id=import_id,
            imported_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        out.append((row, True))
    return out


def import_bank_statement(
    engine: Engine, lines: list[Line], *, by: str, clock: ledger.Clock
) -> ImportResult:
    import_id = uuid.uuid4().hex[:16]
    booked = new_lines = 0
    with writer(engine) as session:
        stored = store_lines(session, "bank", lines, import_id=import_id, now=clock())
        for row, new in stored:
            new_lines += int(new)
            if row.amount > 0:
                paid_at = datetime.combine(row.value_date, time(12), UTC) - LOCAL
                _, fresh = bank.book_transfer(
                    session,
                    ref=row.ref,
                    amount=row.amount,
                    content=row.description,
                    paid_at=paid_at,
                    by=f"statement:{by}",
                    clock=clock,
                )
                booked += int(fresh)
        session.commit()
    return ImportResult(import_id, len(lines), new_lines, booked)


VNPAY_COLUMNS = (
    "TransactionDate",
    "TmnCode",
    "TxnRef",
    "TransactionNo",
    "BankCode",
    "Amount",
    "TransactionType",
    "TransactionStatus",
    "ResponseCode",
    "OrderInfo",
)


def parse_vnpay_report(data: bytes, name: str = "vnpay.csv") -> list[Line]:
    """VNPay's daily report (the columns in docs/payments.md): paid transactions as credits,
    refunds as debits."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    missing = set(VNPAY_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise StatementError(f"{name}: missing columns {sorted(missing)}")
    lines = []
    for n, row in enumerate(reader, start=2):
        where = f"{name} row {n}"
        kind, status = row["TransactionType"], row["TransactionStatus"]
        if kind == "01" and status != "00":
            continue  # a failed payment moved no money
        stamp = row["TransactionDate"]
        day = parse_date(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}", where=where)
        amount = parse_amount(row["Amount"], where=where)
        ref = row["TxnRef"] if kind == "01" else f"{row['TxnRef']}:refund:{stamp}"
        lines.append(Line(ref, day, amount if kind == "01" else -amount, row["OrderInfo"]))
    return lines


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), UTC) - LOCAL
    return start, start + timedelta(days=1)


def reconcile_day(
    engine: Engine,
    channel: str,
    day: date,
    *,
    clock: ledger.Clock,
    tolerance: int = 0,
    window: int = 2,
) -> dict[str, Any]:
    """Compare one business day of ``channel`` (``bank`` or ``vnpay``) and open exceptions.

    The day's lines are compared with the payments of ``window`` days either side: a bank
    value-dates a transfer made late on Friday on Monday, and a suggestion may pair a line
    with a payment of the next day. Only the day's own payments are reported as missing from
    the file; the others belong to their own day's reconciliation.
    """
    start, end = _day_bounds(day)
    spread = timedelta(days=window)
    line_q = (
        StatementLineRow.source == channel,
        StatementLineRow.value_date == day,
        StatementLineRow.amount > 0,
    )
    near_lines = (
        StatementLineRow.source == channel,
        StatementLineRow.value_date >= day - spread,
        StatementLineRow.value_date <= day + spread,
        StatementLineRow.amount > 0,
    )
    pay_q = (
        PaymentRow.channel == channel,
        PaymentRow.paid_at >= start - spread,
        PaymentRow.paid_at < end + spread,
        PaymentRow.status.in_(ledger.COUNTING),
    )
    same = and_(
        PaymentRow.provider_ref == StatementLineRow.ref,
        PaymentRow.amount == StatementLineRow.amount,
    )
    # a payment already suggested for another day's line is that day's to settle
    paired_elsewhere = (
        select(PaymentExceptionRow.id)
        .join(StatementLineRow, StatementLineRow.id == PaymentExceptionRow.line_id)
        .where(
            PaymentExceptionRow.payment_id == PaymentRow.id,
            PaymentExceptionRow.kind == "suggested",
            StatementLineRow.value_date != day,
        )
        .exists()
    )
    with writer(engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            # fresh statistics after a big import, or the planner may loop instead of hashing
            session.execute(text("ANALYZE statement_lines"))
            session.execute(text("ANALYZE payments"))
        # exact matches are counted by the database (an index join); only what is left —
        # a small remainder — is read and matched here
        count, total = session.execute(
            select(func.count(), func.coalesce(func.sum(StatementLineRow.amount), 0))
            .select_from(StatementLineRow)
            .join(PaymentRow, and_(same, *pay_q))
            .where(*line_q)
        ).one()
        lines = session.execute(
            select(
                StatementLineRow.id,
                StatementLineRow.ref,
                StatementLineRow.amount,
                literal(day, Date),
            ).where(*line_q, ~exists().where(same, *pay_q))
        ).all()
        payments = [
            (pid, ref, amount, (paid_at + LOCAL).date())
            for pid, ref, amount, paid_at in session.execute(
                select(
                    PaymentRow.id, PaymentRow.provider_ref, PaymentRow.amount, PaymentRow.paid_at
                ).where(*pay_q, ~exists().where(same, *near_lines), ~paired_elsewhere)
            )
        ]
        result = matching.reconcile(lines, payments, tolerance=tolerance, window=window)
        result.payments_only = [p for p in result.payments_only if p[3] == day]
        _open_exceptions(session, channel, day, result, now=clock())
        session.commit()
    summary = result.summary()
    summary["matched"] += int(count)
    summary["matched_amount"] += int(total)
    return {"channel": channel, "day": day.isoformat(), **summary}


def _open_exceptions(
    session: Session, channel: str, day: date, result: matching.Result, *, now: datetime
) -> None:
    """One exception per item not matched, in bulk; those already open are left as they are."""
    rows: list[dict[str, Any]] = []

    def add(kind: str, subject: str, amount: int, detail: str, **ids: int | None) -> None:
        rows.append(
            {
                "kind": kind,
                "subject": subject[:120],
                "channel": channel,
                "amount": amount,
                "detail": detail[:500],
                "status": "open",
                "action": "",
                "note": "",
                "resolved_by": "",
                "created_at": now,
                "payment_id": ids.get("payment_id"),
                "line_id": ids.get("line_id"),
                "suggested_customer_id": None,
            }
        )

    for line, pay, why in result.suggested:
        add(
            "suggested",
            f"{channel}:{line[1]}",
            line[2],
            why,
            line_id=line[0],
            payment_id=pay[0],
        )
    for line in result.duplicates:
        add(
            "duplicate",
            f"{channel}:{line[1]}:dup",
            line[2],
            f"{line[1]} appears more than once",
            line_id=line[0],
        )
    for line in result.lines_only:
        add(
            "missing_payment",
            f"{channel}:{line[1]}",
            line[2],
            f"{channel} lists {line[1]} but no payment was recorded",
            line_id=line[0],
        )
    for pay in result.payments_only:
        add(
            "missing_line",
            f"{channel}:pay:{pay[0]}",
            pay[2],
            f"payment {pay[1]} is not in {channel}'s file for {day}",
            payment_id=pay[0],
        )
    if not rows:
        return
    known = {
        (kind, subject)
        for kind, subject in session.execute(
            select(PaymentExceptionRow.kind, PaymentExceptionRow.subject).where(
                PaymentExceptionRow.channel == channel
            )
        )
    }
    unique = {(r["kind"], r["subject"]): r for r in reversed(rows)}  # the first of each
    fresh = [r for key, r in unique.items() if key not in known]
    for start in range(0, len(fresh), 5000):
        session.execute(insert(PaymentExceptionRow), fresh[start : start + 5000])
