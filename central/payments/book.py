"""Book a payment exactly once, and refund from one.

One provider transaction is one payment: ``(channel, provider_ref)`` is unique in the
database, so a second delivery — even a concurrent one in another worker — finds the first
row instead of adding money. A repeat that disagrees with the stored payment (another amount
or account) is a :class:`Conflict`, never a second payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.db.models.billing import BillRow
from central.db.models.payments import PaymentRow, RefundRow
from central.db.models.records import CustomerRow
from central.payments import ledger
from central.payments.errors import Conflict, Invalid, NotFound

log = structlog.get_logger(__name__)

CHANNELS = ("counter", "field", "vnpay", "bank", "wallet", "prepaid")
METHODS = ("cash", "card", "transfer", "qr", "wallet", "prepaid")


@dataclass(frozen=True)
class NewPayment:
    channel: str
    method: str
    provider_ref: str
    amount: int
    taken_by: str
    paid_at: datetime
    customer_id: int | None = None
    bill_id: int | None = None
    gateway_id: str | None = None
    status: str = "completed"
    currency: str = "VND"
    note: str = ""

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise Invalid("channel", f"unknown channel {self.channel!r}")
        if self.method not in METHODS:
            raise Invalid("method", f"unknown method {self.method!r}; one of {METHODS}")
        if not 0 < len(self.provider_ref) <= 100:
            raise Invalid("provider_ref", "a payment needs a reference of 1 to 100 characters")
        if self.amount <= 0:
            raise Invalid("amount", f"amount must be positive, got {self.amount}")
        if self.currency != "VND":
            raise Invalid("currency", f"only VND is collected, got {self.currency!r}")


def customer_by_account(session: Session, account_no: str) -> int | None:
    ids = list(session.scalars(select(CustomerRow.id).where(CustomerRow.account_no == account_no)))
    return ids[0] if len(ids) == 1 else None


def find(session: Session, channel: str, provider_ref: str) -> PaymentRow | None:
    return session.scalar(
        select(PaymentRow).where(
            PaymentRow.channel == channel, PaymentRow.provider_ref == provider_ref
        )
    )


def _same(row: PaymentRow, p: NewPayment) -> None:
    if row.amount != p.amount or row.customer_id != p.customer_id:
        raise Conflict(
            f"{p.channel} reference {p.provider_ref!r} is already payment {row.id} "
            f"of {row.amount} {row.currency} for customer {row.customer_id}"
        )


def record(session: Session, p: NewPayment, *, clock: ledger.Clock) -> tuple[PaymentRow, bool]:
    """The payment for ``p``'s reference, booked now or found; ``True`` if it is new."""
    existing = find(session, p.channel, p.provider_ref)
    if existing is not None:
        _same(existing, p)
        return existing, False
    if p.customer_id is not None and session.get(CustomerRow, p.customer_id) is None:
        raise NotFound(f"no customer {p.customer_id}")
    bill_id = p.bill_id
    if bill_id is not None:
        bill = session.get(BillRow, bill_id)
        if bill is None:
            raise NotFound(f"no bill {bill_id}")
        if p.customer_id is not None and bill.customer_id != p.customer_id:
            raise Invalid("bill_id", f"bill {bill_id} is not customer {p.customer_id}'s")
    row = PaymentRow(
        channel=p.channel,
        method=p.method,
        provider_ref=p.provider_ref,
        customer_id=p.customer_id,
        bill_id=bill_id,
        amount=p.amount,
        currency=p.currency,
        status=p.status,
        taken_by=p.taken_by,
        gateway_id=p.gateway_id,
        note=p.note[:300],
        paid_at=p.paid_at,
        received_at=clock(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker booked the same reference first
        existing = find(session, p.channel, p.provider_ref)
        if existing is None:
            raise
        _same(existing, p)
        return existing, False
    if p.status == "completed" and p.customer_id is not None:
        ledger.post(
            session,
            p.customer_id,
            "payment",
            -p.amount,
            f"payment:{row.id}",
            by=p.taken_by,
            clock=clock,
            payment_id=row.id,
        )
        ledger.settle(session, p.customer_id, clock=clock)
    log.info(
        "payment.booked",
        payment=row.id,
        channel=p.channel,
        ref=p.provider_ref,
        amount=p.amount,
        customer=p.customer_id,
        status=p.status,
    )
    return row, True


def get(session: Session, payment_id: int) -> PaymentRow:
    row = session.get(PaymentRow, payment_id)
    if row is None:
        raise NotFound(f"no payment {payment_id}")
    return row


def refunded(session: Session, payment_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(RefundRow.amount), 0)).where(
                RefundRow.payment_id == payment_id, RefundRow.status == "completed"
            )
        )
        or 0
    )


def refund(
    session: Session,
    payment_id: int,
    amount: int,
    *,
    request_ref: str,
    by: str,
    clock: ledger.Clock,
    reason: str = "",
    provider_ref: str = "",
    reversal: bool = False,
) -> RefundRow:
    """Give back ``amount`` of a payment: first its unused credit, then off its bills, newest
    first (those bills reopen). Once per ``request_ref``.

    A ``reversal`` takes back money that never arrived (the provider's error, a short
    settlement): the same movement, posted on the ledger as a reversal, not a refund."""
    pay = get(session, payment_id)
    done = session.scalar(
        select(RefundRow).where(
            RefundRow.payment_id == payment_id, RefundRow.request_ref == request_ref
        )
    )
    if done is not None:
        if done.amount != amount:
            raise Conflict(f"refund {request_ref!r} of payment {payment_id} was {done.amount}")
        return done
    if pay.status not in ("completed", "partially_refunded"):
        raise Conflict(f"payment {payment_id} is {pay.status}: nothing to refund")
    left = pay.amount - refunded(session, payment_id)
    if not 0 < amount <= left:
        raise Invalid("amount", f"refund must be 1..{left} for payment {payment_id}")
    if pay.customer_id is not None:
        ledger.lock_account(session, pay.customer_id)
        credit = ledger.payment_credits(session, pay.customer_id).get(payment_id, 0)
        need = amount - max(0, credit)
        now = clock()
        bills = session.scalars(
            select(BillRow.id)
            .where(BillRow.customer_id == pay.customer_id)
            .order_by(BillRow.period_end.desc(), BillRow.id.desc())
        )
        for bill_id in list(bills):
            if need <= 0:
                break
            need -= ledger.take_back(session, bill_id, need, now=now, payment_id=payment_id)
    row = RefundRow(
        payment_id=payment_id,
        amount=amount,
        kind="reversal" if reversal else "full" if amount == pay.amount else "partial",
        request_ref=request_ref,
        provider_ref=provider_ref,
        status="completed",
        reason=reason[:300],
        created_by=by,
        created_at=clock(),
    )
    session.add(row)
    session.flush()
    pay.status = "refunded" if amount == left else "partially_refunded"
    if pay.customer_id is not None:
        ledger.post(
            session,
            pay.customer_id,
            "reversal" if reversal else "refund",
            amount,
            f"{'reversal:refund' if reversal else 'refund'}:{row.id}",
            by=by,
            clock=clock,
            payment_id=payment_id,
        )
        ledger.settle(session, pay.customer_id, clock=clock)
    log.info("payment.refunded", payment=payment_id, amount=amount, ref=request_ref)
    return row
