"""What a customer may read about an account: payments made and the amount due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.billing import bills
from central.db.models.billing import BillRow

OPEN_STATES = ("issued", "partially_paid")


@dataclass(frozen=True)
class Payment:
    day: date
    amount: int
    currency: str
    method: str


def payments(session: Session, customer_id: int, *, n: int = 5) -> list[Payment]:
    """The account's last ``n`` payments, newest first."""
    rows = session.scalars(
        select(BillRow)
        .where(BillRow.customer_id == customer_id, BillRow.paid_at.is_not(None))
        .order_by(BillRow.paid_at.desc())
        .limit(n)
    )
    return [
        Payment(b.paid_at.date(), bills.balance(session, b), b.currency, "")
        for b in rows
        if b.paid_at is not None
    ]


def amount_due(session: Session, customer_id: int) -> tuple[int, str]:
    """What the account owes on its open bills, and in which currency."""
    rows = list(
        session.scalars(
            select(BillRow).where(
                BillRow.customer_id == customer_id, BillRow.state.in_(OPEN_STATES)
            )
        )
    )
    currency = rows[0].currency if rows else "VND"
    return sum(bills.balance(session, b) for b in rows), currency
