"""``/api/v1/payments/vnpay``: orders, the IPN VNPay calls, the customer's return page,
querydr on demand and refunds."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from central.api.deps import ClockDep, EngineDep, SessionDep, require_account
from central.api.payments import answer
from central.auth import PrincipalDep, Role, allow, public
from central.auth.scope import is_customer_only
from central.db.models.billing import BillRow
from central.payments import book, counter, idempotency, vnpay_api, vnpay_orders
from central.settings import VnpaySettings
from central.types import Id

router = APIRouter(prefix="/payments/vnpay", tags=["payments: vnpay"])
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]

OUTCOMES = {
    "paid": "Thanh toán thành công — payment received. Thank you.",
    "processing": "Đang xác nhận — VNPay accepted the payment; it is being confirmed.",
    "failed": "Giao dịch không thành công — the payment did not go through.",
    "not_paid": "Giao dịch không thành công — the payment did not go through.",
    "invalid": "Liên kết không hợp lệ — this link is not valid.",
    "unknown": "Không tìm thấy đơn hàng — no such order.",
}


class OrderIn(BaseModel):
    bill_ids: list[int] = Field(default_factory=list, max_length=24)
    customer_id: Id | None = None
    account_no: str | None = Field(default=None, max_length=32)


class VnpayRefundIn(BaseModel):
    payment_id: Id
    amount: int = Field(gt=0, le=10**12)
    reason: str = Field(min_length=3, max_length=300)


def _settings(request: Request) -> VnpaySettings:
    settings: VnpaySettings = request.app.state.payments.vnpay
    return settings


def _post(request: Request) -> vnpay_api.Post:
    post: vnpay_api.Post = getattr(request.app.state, "vnpay_post", vnpay_api.httpx_post)
    return post


@router.post(
    "/orders",
    status_code=201,
    dependencies=[allow(Role.CUSTOMER, Role.CASHIER, Role.OPERATOR, Role.BILLING_CLERK)],
)
def create_order(
    request: Request,
    engine: EngineDep,
    clock: ClockDep,
    principal: PrincipalDep,
    body: OrderIn,
    key: IdemKey = None,
) -> JSONResponse:
    """An order for bills (what they still need) or an account's open balance:
    ``{"txn_ref", "amount", "payment_url"}``."""
    k = idempotency.check_key(key)
    settings = _settings(request)
    ip = request.client.host if request.client else "127.0.0.1"

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        cid = body.customer_id
        if not body.bill_ids and (cid is not None or body.account_no):
            cid = counter.resolve_customer(session, cid, body.account_no)
        if is_customer_only(principal):  # a customer pays only for its own accounts
            owners = {cid} if cid is not None else set()
            bills = (session.get(BillRow, b) for b in body.bill_ids)
            owners |= {bill.customer_id for bill in bills if bill is not None}
            for owner in owners:
                require_account(session, principal, owner)
        order = vnpay_orders.create(
            session,
            settings,
            bill_ids=body.bill_ids,
            customer_id=cid,
            ip_addr=ip,
            by=principal.name,
            clock=clock,
        )
        return 201, {
            "txn_ref": order.txn_ref,
            "amount": order.amount,
            "payment_url": order.payment_url,
        }

    return answer(idempotency.run(engine, "vnpay-orders", k, body.model_dump(), work, clock=clock))


@router.get("/ipn", dependencies=[public()])
def ipn(request: Request, engine: EngineDep, clock: ClockDep) -> dict[str, str]:
    """VNPay's instant payment notification, checked by its own HMAC-SHA512."""
    code, message = vnpay_orders.ipn(
        engine, _settings(request), dict(request.query_params), clock=clock
    )
    return {"RspCode": code, "Message": message}


@router.get(
    "/return",
    dependencies=[public()],
    response_class=HTMLResponse,
    openapi_extra={
        "responses": {"400": {"content": {"text/html": {"schema": {"type": "string"}}}}}
    },
)
def return_page(request: Request, session: SessionDep) -> HTMLResponse:
    """Where VNPay sends the customer back: shows the outcome, settles nothing."""
    params = dict(request.query_params)
    state = vnpay_orders.outcome(session, _settings(request), params)
    ref = escape(params.get("vnp_TxnRef", ""))
    page = (
        "<!doctype html><meta charset=utf-8><title>VNPay</title>"
        f"<h1 data-outcome={state}>{escape(OUTCOMES[state])}</h1><p>{ref}</p>"
    )
    return HTMLResponse(page, status_code=400 if state == "invalid" else 200)


@router.get("/orders/{txn_ref}", dependencies=[allow(Role.OPERATOR, Role.AUDITOR, Role.CASHIER)])
def get_order(session: SessionDep, txn_ref: str) -> dict[str, Any]:
    o = vnpay_orders.get(session, txn_ref)
    return {
        "txn_ref": o.txn_ref,
        "customer_id": o.customer_id,
        "bill_ids": [int(b) for b in o.bill_ids.split(",") if b],
        "amount": o.amount,
        "status": o.status,
        "response_code": o.response_code,
        "transaction_no": o.transaction_no,
        "payment_id": o.payment_id,
    }


@router.post("/querydr", dependencies=[allow(Role.OPERATOR)])
def querydr(request: Request, engine: EngineDep, clock: ClockDep) -> dict[str, int]:
    """Ask VNPay now about pending orders (the sweeper does it on a schedule)."""
    r = vnpay_api.query_pending(engine, _settings(request), clock=clock, post=_post(request))
    return {"asked": r.asked, "paid": r.paid, "failed": r.failed}


@router.post("/refunds", status_code=201, dependencies=[allow(Role.OPERATOR)])
def refund(
    request: Request,
    engine: EngineDep,
    clock: ClockDep,
    principal: PrincipalDep,
    body: VnpayRefundIn,
    key: IdemKey = None,
) -> JSONResponse:
    """Refund through VNPay (full: 02, partial: 03); the bills it paid reopen."""
    k = idempotency.check_key(key)
    settings, post = _settings(request), _post(request)

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        refund_id = vnpay_api.refund(
            session,
            settings,
            body.payment_id,
            body.amount,
            request_ref=k,
            by=principal.name,
            reason=body.reason,
            clock=clock,
            post=post,
        )
        view = counter.payment_view(session, book.get(session, body.payment_id))
        return 201, {"refund_id": refund_id, "payment": view}

    return answer(idempotency.run(engine, "vnpay-refunds", k, body.model_dump(), work, clock=clock))
