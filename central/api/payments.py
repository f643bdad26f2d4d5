"""``/api/v1/payments``: counter payments, refunds, a payment, an account's ledger and last
payments, and the field-cash sweep. Every request that moves money takes an
``Idempotency-Key``; its first answer is replayed for repeats."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from central.api.deps import ClockDep, EngineDep, SessionDep
from central.api.types import IdPath
from central.auth import PrincipalDep, Role, allow
from central.payments import book, counter, field, idempotency
from central.types import Id

router = APIRouter(tags=["payments"])
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]
STAFF_PAY = allow(Role.CASHIER, Role.OPERATOR, Role.BILLING_CLERK)
READ = allow(Role.CASHIER, Role.OPERATOR, Role.BILLING_CLERK, Role.AUDITOR)


class CounterPaymentIn(BaseModel):
    customer_id: Id | None = None
    account_no: str | None = Field(default=None, max_length=32)
    bill_id: Id | None = None
    amount: int = Field(gt=0, le=10**12)
    method: Literal["cash", "card", "bank_slip"]
    reference: str = Field(default="", max_length=100, description="terminal or slip number")


class RefundIn(BaseModel):
    amount: int = Field(gt=0, le=10**12)
    reason: str = Field(min_length=3, max_length=300)


def answer(result: idempotency.Answer) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


@router.post("/payments", status_code=201, dependencies=[STAFF_PAY])
def counter_payment(
    engine: EngineDep,
    clock: ClockDep,
    principal: PrincipalDep,
    body: CounterPaymentIn,
    key: IdemKey = None,
) -> JSONResponse:
    """Money taken at a counter (cash, card terminal, bank transfer slip)."""
    k = idempotency.check_key(key)

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        row = counter.pay(session, key=k, taken_by=principal.name, clock=clock, **body.model_dump())
        session.flush()
        return 201, counter.payment_view(session, row)

    return answer(idempotency.run(engine, "payments", k, body.model_dump(), work, clock=clock))


@router.get("/payments/{payment_id}", dependencies=[READ])
def get_payment(session: SessionDep, payment_id: IdPath) -> dict[str, Any]:
    return counter.payment_view(session, book.get(session, payment_id))


@router.post("/payments/{payment_id}/refunds", status_code=201, dependencies=[allow(Role.OPERATOR)])
def refund_payment(
    engine: EngineDep,
    clock: ClockDep,
    principal: PrincipalDep,
    payment_id: IdPath,
    body: RefundIn,
    key: IdemKey = None,
) -> JSONResponse:
    """Give money back from a counter or field payment (VNPay refunds go through VNPay)."""
    k = idempotency.check_key(key)

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        pay = book.get(session, payment_id)
        if pay.channel == "vnpay":
            from central.payments.errors import Conflict

            raise Conflict("refund a VNPay payment with POST /payments/vnpay/refunds")
        book.refund(
            session,
            payment_id,
            body.amount,
            request_ref=k,
            by=principal.name,
            clock=clock,
            reason=body.reason,
        )
        return 201, counter.payment_view(session, pay)

    params = {"payment_id": payment_id, **body.model_dump()}
    return answer(idempotency.run(engine, "refunds", k, params, work, clock=clock))


@router.get("/customers/{customer_id}/ledger", dependencies=[READ])
def customer_ledger(session: SessionDep, customer_id: IdPath, limit: int = 200) -> dict[str, Any]:
    return counter.ledger_view(session, customer_id, limit=min(max(limit, 1), 1000))


@router.get("/customers/{customer_id}/payments", dependencies=[READ])
def customer_payments(session: SessionDep, customer_id: IdPath, n: int = 5) -> list[dict[str, Any]]:
    counter.resolve_customer(session, customer_id, None)
    rows = counter.last_payments(session, customer_id, min(max(n, 1), 100))
    return [counter.payment_view(session, r) for r in rows]


@router.post("/payments/field/sweep", dependencies=[allow(Role.OPERATOR)])
def sweep_field(engine: EngineDep, clock: ClockDep) -> dict[str, int]:
    """Book the field cash that arrived from gateways (also done by central's sweeper)."""
    result = field.sweep(engine, clock=clock)
    return {"booked": result.booked, "unassigned": result.unassigned}
