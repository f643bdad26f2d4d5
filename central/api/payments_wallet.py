"""``/api/v1/payments/wallet``: orders at the hosted card/wallet gateway (with the arrears
check) and its asynchronous notify."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from central.api.deps import ClockDep, EngineDep, SessionDep
from central.api.payments import answer
from central.auth import PrincipalDep, Role, allow, public
from central.db.models.payments import WalletOrderRow
from central.payments import counter, idempotency, wallet
from central.settings import WalletSettings
from central.types import Id

router = APIRouter(prefix="/payments/wallet", tags=["payments: card/wallet gateway"])
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


class WalletOrderIn(BaseModel):
    customer_id: Id | None = None
    account_no: str | None = Field(default=None, max_length=32)
    amount: int | None = Field(default=None, gt=0, le=10**12)


def _settings(request: Request) -> WalletSettings:
    settings: WalletSettings = request.app.state.payments.wallet
    return settings


@router.post(
    "/orders",
    status_code=201,
    dependencies=[allow(Role.CUSTOMER, Role.CASHIER, Role.OPERATOR)],
)
def create_order(
    request: Request,
    engine: EngineDep,
    clock: ClockDep,
    principal: PrincipalDep,
    body: WalletOrderIn,
    key: IdemKey = None,
) -> JSONResponse:
    """An order for what the account owes (or part of it); refused when it owes nothing."""
    k = idempotency.check_key(key)
    settings = _settings(request)

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        cid = counter.resolve_customer(session, body.customer_id, body.account_no)
        trade, amount, url = wallet.create_order(
            session, settings, customer_id=cid, amount=body.amount, by=principal.name, clock=clock
        )
        return 201, {"out_trade_no": trade, "amount": amount, "pay_url": url}

    return answer(idempotency.run(engine, "wallet-orders", k, body.model_dump(), work, clock=clock))


@router.post("/notify", dependencies=[public()], response_class=PlainTextResponse)
async def notify(request: Request, engine: EngineDep, clock: ClockDep) -> PlainTextResponse:
    """The gateway's asynchronous notification (form POST, RSA2-signed)."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    params = dict(parse_qsl(raw, keep_blank_values=True))
    return PlainTextResponse(wallet.notify(engine, _settings(request), params, clock=clock))


@router.get(
    "/return",
    dependencies=[public()],
    response_class=HTMLResponse,
    openapi_extra={
        "responses": {"404": {"content": {"text/html": {"schema": {"type": "string"}}}}}
    },
)
def return_page(session: SessionDep, out_trade_no: str = "") -> HTMLResponse:
    """Where the gateway sends the customer back: the order's state; settles nothing (only
    the signed notify does)."""
    order = session.get(WalletOrderRow, out_trade_no[:64])
    state = order.status if order is not None else "unknown"
    text = {
        "paid": "Payment received. Thank you.",
        "pending": "The payment is being confirmed.",
        "closed": "The payment did not go through.",
        "unknown": "No such order.",
    }[state]
    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8><h1 data-outcome={state}>{escape(text)}</h1>",
        status_code=404 if order is None else 200,
    )
