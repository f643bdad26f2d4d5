"""What a customer may read about an account: payments made and the amount due, from the
ledger (``central.payments``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.payments import PaymentRow
from central.payments import ledger

OPEN_STATES = ("issued", "partially_paid")
COUNTED = ("completed", "partially_refunded", "refunded")  # money that was received


@dataclass(frozen=True)
class Payment:
    day: date
    amount: int
    currency: str
    method: str


def payments(session: Session, customer_id: int, *, n: int = 5) -> list[Payment]:
    """The account's last ``n`` payments received, newest first (failed ones never show)."""
    rows = session.scalars(
        select(PaymentRow)
        .where(PaymentRow.customer_id == customer_id, PaymentRow.status.in_(COUNTED))
        .order_by(PaymentRow.paid_at.desc(), PaymentRow.id.desc())
        .limit(n)
    )
    return [Payment(p.paid_at.date(), p.amount, p.currency, p.method) for p in rows]


def amount_due(session: Session, customer_id: int) -> tuple[int, str]:
    """What the account owes now, after its payments and credit (VND)."""
    return max(ledger.balance(session, customer_id).owed, 0), "VND"
