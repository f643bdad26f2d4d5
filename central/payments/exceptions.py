"""The exceptions queue: what reconciliation and matching could not settle, and the operator's
actions on it. Every action names who took it and when, and moves money only through the
ledger:

* ``assign``: an unassigned payment becomes the named account's (posted and allocated);
* ``refund``: the payment's money goes back (a refund on the ledger when it has an account);
* ``write_off``: unclaimed money is kept as other income (the payment stops counting);
* ``bank_error``: the provider credited or listed money in error: a payment booked from it is
  reversed on the ledger (its bills reopen); a line with no payment moves nothing;
* ``confirm``: the suggestion is accepted. A transfer suggested for an account is assigned to
  it; a line paired with a payment of another amount settles at the provider's amount — a
  shortfall is reversed on the ledger, an excess is booked as a payment of the difference.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.payments import PaymentExceptionRow, PaymentRow, StatementLineRow
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
    chosen = action
    if action == "confirm" and row.suggested_customer_id is not None and customer_id is None:
        action, customer_id = "assign", row.suggested_customer_id
    if action == "assign":
        if pay is None or pay.customer_id is not None:
            raise Conflict(f"exception {exception_id} has no unassigned payment to assign")
        if customer_id is None or session.get(CustomerRow, customer_id) is None:
            raise Invalid("customer_id", "assign needs an existing customer_id")
        _assign(session, pay, customer_id, by=by, clock=clock)
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
    elif action == "bank_error" and pay is not None:
        left = pay.amount - book.refunded(session, pay.id)
        if pay.status in ("completed", "partially_refunded") and left > 0:
            book.refund(
                session,
                pay.id,
                left,
                request_ref=f"exception:{row.id}",
                by=by,
                clock=clock,
                reason=note or "credited in error by the provider",
                reversal=True,
            )
    elif action == "confirm" and pay is not None and row.line_id is not None:
        line = session.get(StatementLineRow, row.line_id)
        if line is not None and line.amount != pay.amount:
            _settle_at_provider_amount(session, row, pay, line.amount, by=by, clock=clock)
    row.status, row.action, row.note = "resolved", chosen, note[:300]
    row.resolved_by, row.resolved_at = by, clock()
    if customer_id is not None and action == "assign":
        row.note = f"assigned to customer {customer_id}. {note}"[:300]
    session.flush()
    return row


def _assign(
    session: Session, pay: PaymentRow, customer_id: int, *, by: str, clock: ledger.Clock
) -> None:
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


def _settle_at_provider_amount(
    session: Session,
    row: PaymentExceptionRow,
    pay: PaymentRow,
    provider_amount: int,
    *,
    by: str,
    clock: ledger.Clock,
) -> None:
    """The provider's amount is what arrived: reverse a shortfall, book an excess."""
    if provider_amount < pay.amount:
        book.refund(
            session,
            pay.id,
            pay.amount - provider_amount,
            request_ref=f"exception:{row.id}",
            by=by,
            clock=clock,
            reason=f"provider settled {provider_amount} of {pay.amount}",
            reversal=True,
        )
        return
    book.record(
        session,
        book.NewPayment(
            channel=pay.channel,
            method=pay.method,
            provider_ref=f"exception:{row.id}",
            amount=provider_amount - pay.amount,
            taken_by=by,
            paid_at=pay.paid_at,
            customer_id=pay.customer_id,
            note=f"provider settled {provider_amount} for payment {pay.id} of {pay.amount}",
        ),
        clock=clock,
    )
