"""Remittance per cashier and day (seed 003): what the cashier's receipts say was collected in
cash against what they handed in; confirmed when equal, flagged with the difference."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.payments import PaymentRow, RemittanceRow
from central.payments import ledger
from central.payments.errors import Conflict, Invalid

LOCAL = timedelta(hours=7)


def collected(session: Session, day: date) -> dict[str, tuple[int, int]]:
    """Per cashier (``taken_by``): the day's cash receipts and their sum."""
    start = datetime.combine(day, time(0), UTC) - LOCAL
    rows = session.execute(
        select(PaymentRow.taken_by, PaymentRow.amount).where(
            PaymentRow.method == "cash",
            PaymentRow.channel.in_(("field", "counter")),
            PaymentRow.paid_at >= start,
            PaymentRow.paid_at < start + timedelta(days=1),
            PaymentRow.status.in_(ledger.COUNTING),
        )
    ).all()
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for who, amount in rows:
        out[who][0] += 1
        out[who][1] += amount
    return {k: (v[0], v[1]) for k, v in out.items()}


def record(
    session: Session,
    cashier: str,
    day: date,
    deposited: int,
    *,
    by: str,
    note: str,
    clock: ledger.Clock,
) -> RemittanceRow:
    if deposited < 0:
        raise Invalid("deposited", "a deposit cannot be negative")
    found = session.scalar(
        select(RemittanceRow).where(RemittanceRow.cashier == cashier, RemittanceRow.day == day)
    )
    if found is not None:
        if found.deposited != deposited:
            raise Conflict(f"{cashier}'s remittance for {day} is recorded: {found.deposited}")
        return found
    receipts, expected = collected(session, day).get(cashier, (0, 0))
    row = RemittanceRow(
        cashier=cashier,
        day=day,
        receipts=receipts,
        expected=expected,
        deposited=deposited,
        status="confirmed" if deposited == expected else "flagged",
        note=note[:300],
        recorded_by=by,
        recorded_at=clock(),
    )
    session.add(row)
    session.flush()
    return row


def day_view(session: Session, day: date) -> list[dict[str, Any]]:
    done = {
        r.cashier: r for r in session.scalars(select(RemittanceRow).where(RemittanceRow.day == day))
    }
    seen = collected(session, day)
    out = []
    for cashier in sorted(set(seen) | set(done)):
        receipts, expected = seen.get(cashier, (0, 0))
        r = done.get(cashier)
        out.append(
            {
                "cashier": cashier,
                "day": day.isoformat(),
                "receipts": receipts,
                "expected": expected,
                "deposited": r.deposited if r else None,
                "difference": (r.deposited - expected) if r else None,
                "status": r.status if r else "open",
                "recorded_by": r.recorded_by if r else None,
            }
        )
    return out
