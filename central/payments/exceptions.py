"""The exceptions queue: what reconciliation and matching could not settle, and the operator's
actions on it. Every action names who took it and when, and moves money only through the
ledger:

* ``assign``: an unassigned payment becomes the named account's (posted and allocated);
* ``refund``: the payment's money goes back (a refund on the ledger when it has an account);
* ``write_off``: unclaimed money is kept as other income (the payment stops counting);
* ``bank_error``: the bank's line was wrong (nothing moves; the bank corrects it);
* ``confirm``: the suggestion or difference is accepted as it stands.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.payments import PaymentExceptionRow
from central.db.models.records import CustomerRow
from central.payments import book, ledger
from central.payments.errors import Conflict, Invalid, NotFound

ACTIONS = ("assign", "refund", "write_off", "bank_error", "confirm")


def get(session: Session, exception_id: int) -> PaymentExceptionRow:
    row = session.get(PaymentExceptionRow, exception_id)
    if row is None:
        raise NotFound(f"no exception {exception_id}")
    return row


def open_items(session: Session, *, limit: int = 500) -> list[PaymentExceptionRow]:
    return list(
        session.scalars(
            select(PaymentExceptionRow)
            .where(PaymentExceptionRow.status == "open")
            .order_by(PaymentExceptionRow.created_at, PaymentExceptionRow.id)
            .limit(limit)
        )
    )


def view(row: PaymentExceptionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "subject": row.subject,
        "channel": row.channel,
        "payment_id": row.payment_id,
        "line_id": row.line_id,
        "suggested_customer_id": row.suggested_customer_id,
        "amount": row.amount,
        "detail": row.detail,
        "status": row.status,
        "action": row.action,
        "note": row.note,
        "resolved_by": row.resolved_by,
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
        "created_at": row.created_at.isoformat(),
    }


def resolve(
    session: Session,
    exception_id: int,
    action: str,
    *,
    by: str,
    note: str,
    clock: ledger.Clock,
    customer_id: int | None = None,
) -> PaymentExceptionRow:
    row = get(session, exception_id)
    if row.status != "open":
        raise Conflict(f"exception {exception_id} was already resolved ({row.action})")
    if action not in ACTIONS:
        raise Invalid("action", f"action must be one of {ACTIONS}")
    pay = book.get(session, row.payment_id) if row.payment_id is not None else None
    if action == "assign":
        if pay is None or pay.customer_id is not None:
            raise Conflict(f"exception {exception_id} has no unassigned payment to assign")
        if customer_id is None or session.get(CustomerRow, customer_id) is None:
            raise Invalid("customer_id", "assign needs an existing customer_id")
        pay.customer_id = customer_id
        session.flush()
        if pay.status == "completed":
            ledger.post(
                session,
                customer_id,
                "payment",
                -pay.amount,
                f"payment:{pay.id}",
                by=by,
                clock=clock,
                payment_id=pay.id,
            )
            ledger.settle(session, customer_id, clock=clock)
    elif action == "refund":
        if pay is None:
            raise Conflict(f"exception {exception_id} has no payment to refund")
        left = pay.amount - book.refunded(session, pay.id)
        book.refund(
            session,
            pay.id,
            left,
            request_ref=f"exception:{row.id}",
            by=by,
            clock=clock,
            reason=note or "refunded from the exceptions queue",
        )
    elif action == "write_off":
        if pay is None or pay.customer_id is not None:
            raise Conflict("only unassigned money can be written off")
        pay.status = "written_off"
    row.status, row.action, row.note = "resolved", action, note[:300]
    row.resolved_by, row.resolved_at = by, clock()
    if customer_id is not None and action == "assign":
        row.note = f"assigned to customer {customer_id}. {note}"[:300]
    session.flush()
    return row
