"""Cash taken by the gateways' field cashiers, put on the ledger exactly once.

Ingest stores each field payment once by its ``payment_id`` (after checking the receipt's
signature); the sweep books every stored row that has no payment yet as a ``field`` payment
whose provider reference is that ``payment_id``. Running it twice, or in two workers at once,
books nothing twice: the reference is unique per channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import Engine, and_, select

from central.db.models.billing import BillRow
from central.db.models.ingest import FieldPaymentRow
from central.db.models.payments import PaymentRow
from central.payments import book, ledger
from central.payments.errors import PaymentError
from central.payments.idempotency import writer

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SweepResult:
    booked: int
    unassigned: int  # booked without a known account: waiting for an operator


def _pending(engine: Engine, limit: int) -> list[FieldPaymentRow]:
    with writer(engine) as session:
        query = (
            select(FieldPaymentRow)
            .outerjoin(
                PaymentRow,
                and_(
                    PaymentRow.channel == "field",
                    PaymentRow.provider_ref == FieldPaymentRow.payment_id,
                ),
            )
            .where(PaymentRow.id.is_(None))
            .order_by(FieldPaymentRow.received_at, FieldPaymentRow.payment_id)
            .limit(limit)
        )
        return list(session.scalars(query))


def sweep(engine: Engine, *, clock: ledger.Clock, limit: int = 1000) -> SweepResult:
    """Book the field payments not yet on the ledger, each in its own transaction."""
    booked = unassigned = 0
    for row in _pending(engine, limit):
        with writer(engine) as session:
            customer = book.customer_by_account(session, row.account)
            bill_id: int | None = None
            if customer is not None and row.bill_id.isdigit():
                bill = session.get(BillRow, int(row.bill_id))
                bill_id = bill.id if bill is not None and bill.customer_id == customer else None
            method = row.method if row.method in ("cash", "card", "transfer") else "cash"
            try:
                _, new = book.record(
                    session,
                    book.NewPayment(
                        channel="field",
                        method=method,
                        provider_ref=row.payment_id,
                        amount=row.amount,
                        currency=row.currency,
                        taken_by=f"cashier:{row.cashier}",
                        gateway_id=row.gateway_id,
                        customer_id=customer,
                        bill_id=bill_id,
                        paid_at=row.ts,
                        note=f"receipt {row.receipt_no}",
                    ),
                    clock=clock,
                )
            except PaymentError as exc:
                log.warning("field.payment_refused", payment=row.payment_id, reason=str(exc))
                continue
            session.commit()
            booked += int(new)
            unassigned += int(new and customer is None)
    if booked:
        log.info("field.swept", booked=booked, unassigned=unassigned)
    return SweepResult(booked, unassigned)
