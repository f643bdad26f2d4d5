"""Payments taken at a counter by an operator or cashier (cash, card terminal, bank slip),
and the views of payments and ledgers the API answers with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.billing import BillRow
from central.db.models.payments import AllocationRow, LedgerEntryRow, PaymentRow
from central.db.models.records import CustomerRow
from central.payments import book, ledger
from central.payments.errors import Invalid, NotFound

COUNTER_METHODS = {"cash": "cash", "card": "card", "bank_slip": "transfer"}


def resolve_customer(session: Session, customer_id: int | None, account_no: str | None) -> int:
    if customer_id is not None:
        if session.get(CustomerRow, customer_id) is None:
            raise NotFound(f"no customer {customer_id}")
        return customer_id
    if account_no:
        found = book.customer_by_account(session, account_no)
        if found is None:
            raise NotFound(f"no single customer with account {account_no!r}")
        return found
    raise Invalid("customer_id", "name the customer (customer_id or account_no) or the bill")


def pay(
    session: Session,
    *,
    key: str,
    amount: int,
    method: str,
    taken_by: str,
    clock: ledger.Clock,
    customer_id: int | None = None,
    account_no: str | None = None,
    bill_id: int | None = None,
    reference: str = "",
) -> PaymentRow:
    """A counter payment whose provider reference is the request's Idempotency-Key."""
    if method not in COUNTER_METHODS:
        raise Invalid("method", f"counter method must be one of {sorted(COUNTER_METHODS)}")
    if bill_id is not None:
        bill = session.get(BillRow, bill_id)
        if bill is None:
            raise NotFound(f"no bill {bill_id}")
        if bill.state not in ledger.CHARGED:
            raise Invalid("bill_id", f"bill {bill_id} is {bill.state}: it cannot be paid")
        customer_id = bill.customer_id
    cid = resolve_customer(session, customer_id, account_no)
    row, _ = book.record(
        session,
        book.NewPayment(
            channel="counter",
            method=COUNTER_METHODS[method],
            provider_ref=key,
            amount=amount,
            taken_by=taken_by,
            paid_at=clock(),
            customer_id=cid,
            bill_id=bill_id,
            note=f"{method} {reference}".strip(),
        ),
        clock=clock,
    )
    return row


def _iso(ts: datetime) -> str:
    return ts.isoformat()


def payment_view(session: Session, row: PaymentRow) -> dict[str, Any]:
    allocations = session.execute(
        select(AllocationRow.bill_id, AllocationRow.amount)
        .where(AllocationRow.payment_id == row.id)
        .order_by(AllocationRow.id)
    ).all()
    on_bills: dict[int, int] = {}
    for bill_id, amount in allocations:
        on_bills[bill_id] = on_bills.get(bill_id, 0) + amount
    credit = 0
    if row.customer_id is not None:
        credit = ledger.payment_credits(session, row.customer_id).get(row.id, 0)
    return {
        "id": row.id,
        "channel": row.channel,
        "method": row.method,
        "provider_ref": row.provider_ref,
        "customer_id": row.customer_id,
        "bill_id": row.bill_id,
        "amount": row.amount,
        "currency": row.currency,
        "status": row.status,
        "taken_by": row.taken_by,
        "gateway_id": row.gateway_id,
        "paid_at": _iso(row.paid_at),
        "allocations": [{"bill_id": b, "amount": a} for b, a in on_bills.items() if a],
        "credit": credit,
        "refunded": book.refunded(session, row.id),
    }


def ledger_view(session: Session, customer_id: int, *, limit: int = 200) -> dict[str, Any]:
    if session.get(CustomerRow, customer_id) is None:
        raise NotFound(f"no customer {customer_id}")
    bal = ledger.balance(session, customer_id)
    entries = session.scalars(
        select(LedgerEntryRow)
        .where(LedgerEntryRow.customer_id == customer_id)
        .order_by(LedgerEntryRow.id.desc())
        .limit(limit)
    )
    return {
        "customer_id": customer_id,
        "balance": bal.balance,
        "owed": bal.owed,
        "credit": bal.credit,
        "entries": [
            {
                "id": e.id,
                "kind": e.kind,
                "amount": e.amount,
                "bill_id": e.bill_id,
                "payment_id": e.payment_id,
                "ref": e.ref,
                "by": e.created_by,
                "at": _iso(e.created_at),
            }
            for e in entries
        ],
    }


def last_payments(session: Session, customer_id: int, n: int = 5) -> list[PaymentRow]:
    return list(
        session.scalars(
            select(PaymentRow)
            .where(PaymentRow.customer_id == customer_id)
            .order_by(PaymentRow.paid_at.desc(), PaymentRow.id.desc())
            .limit(n)
        )
    )
