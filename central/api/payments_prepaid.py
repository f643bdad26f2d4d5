"""``/api/v1/payments/prepaid``: recharge card batches and redemption."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from central.api.deps import ClockDep, EngineDep, SessionDep
from central.api.payments import answer
from central.auth import PrincipalDep, Role, allow
from central.payments import counter, idempotency, prepaid
from central.types import Id

router = APIRouter(prefix="/payments/prepaid", tags=["payments: prepaid cards"])
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


class BatchIn(BaseModel):
    count: int = Field(ge=1, le=10_000)
    face_value: int = Field(gt=0, le=10**9)


class RedeemIn(BaseModel):
    number: str = Field(min_length=6, max_length=20)
    pin: str = Field(min_length=4, max_length=20)
    customer_id: Id | None = None
    account_no: str | None = Field(default=None, max_length=32)


@router.post("/batches", status_code=201, dependencies=[allow(Role.OPERATOR)])
def create_batch(
    engine: EngineDep,
    clock: ClockDep,
    principal: PrincipalDep,
    body: BatchIn,
    key: IdemKey = None,
) -> JSONResponse:
    """A batch of cards; the PINs are in this answer only (print them, then discard it)."""
    k = idempotency.check_key(key)

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        batch, cards = prepaid.create_batch(
            session, body.count, body.face_value, by=principal.name, clock=clock
        )
        return 201, {
            "batch_id": batch,
            "face_value": body.face_value,
            "cards": [{"number": c.number, "pin": c.pin} for c in cards],
        }

    return answer(
        idempotency.run(engine, "prepaid-batches", k, body.model_dump(), work, clock=clock)
    )


@router.post(
    "/redeem",
    status_code=201,
    dependencies=[allow(Role.CUSTOMER, Role.CASHIER, Role.OPERATOR)],
)
def redeem(
    engine: EngineDep,
    clock: ClockDep,
    principal: PrincipalDep,
    body: RedeemIn,
    key: IdemKey = None,
) -> JSONResponse:
    """Credit a card to an account once; wrong PINs answer 403, then 429 until the wait is
    over, and lock the card at the fifth."""
    k = idempotency.check_key(key)

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        cid = counter.resolve_customer(session, body.customer_id, body.account_no)
        try:
            row = prepaid.redeem(
                session, body.number, body.pin, cid, by=principal.name, clock=clock
            )
        except prepaid.WrongPin:
            session.commit()  # the failure counts, whatever the caller does next
            raise
        return 201, counter.payment_view(session, row)

    return answer(
        idempotency.run(engine, "prepaid-redeem", k, body.model_dump(), work, clock=clock)
    )


@router.get("/cards/{number}", dependencies=[allow(Role.OPERATOR, Role.AUDITOR)])
def card(session: SessionDep, number: str) -> dict[str, Any]:
    c = prepaid.card_status(session, number)
    return {
        "number": c.number,
        "batch_id": c.batch_id,
        "face_value": c.face_value,
        "status": c.status,
        "failures": c.failures,
        "payment_id": c.payment_id,
    }
