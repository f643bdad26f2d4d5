"""VNPay's merchant web API: querydr for orders whose IPN never came, and refunds.

``post(url, json) -> dict`` is the transport (httpx in production, any callable in tests);
every answer's hash is checked before it is believed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.payments import VnpayOrderRow
from central.payments import book, ledger, vnpay
from central.payments.errors import Conflict, Invalid, ProviderError
from central.payments.idempotency import writer
from central.payments.vnpay_orders import _lock, _secret, apply
from central.settings import VnpaySettings

log = structlog.get_logger(__name__)

Post = Callable[[str, dict[str, str]], dict[str, Any]]
FAILED_STATUSES = {"02", "04", "05", "06", "07", "09"}  # the transaction did not pay


def httpx_post(url: str, body: dict[str, str]) -> dict[str, Any]:
    import httpx

    try:
        r = httpx.post(url, json=body, timeout=15)
        r.raise_for_status()
        answer: dict[str, Any] = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderError(f"VNPay API {url}: {exc}") from exc
    return answer


def _request_id() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class QueryResult:
    asked: int
    paid: int
    failed: int


def query_pending(
    engine: Any, settings: VnpaySettings, *, clock: ledger.Clock, post: Post = httpx_post
) -> QueryResult:
    """Ask VNPay about every pending order older than ``querydr_after_minutes``."""
    secret = _secret(settings)
    cutoff = clock() - timedelta(minutes=settings.querydr_after_minutes)
    with writer(engine) as session:
        refs = list(
            session.scalars(
                select(VnpayOrderRow.txn_ref).where(
                    VnpayOrderRow.status == "pending", VnpayOrderRow.created_at <= cutoff
                )
            )
        )
    asked = paid = failed = 0
    for ref in refs:
        with writer(engine) as session:
            order = _lock(session, ref)
            if order is None or order.status != "pending":
                continue
            body = vnpay.querydr_request(
                secret=secret,
                tmn_code=settings.tmn_code,
                request_id=_request_id(),
                txn_ref=ref,
                transaction_date=vnpay.vnp_date(order.created_at),
                now=clock(),
                ip_addr="127.0.0.1",
                info=f"querydr {ref}",
            )
            try:
                answer = {k: str(v) for k, v in post(settings.api_url, body).items()}
            except ProviderError as exc:
                log.warning("vnpay.querydr_failed", txn_ref=ref, reason=str(exc))
                continue
            asked += 1
            if not vnpay.verify_answer(answer, secret, command="querydr"):
                log.warning("vnpay.querydr_bad_hash", txn_ref=ref)
                continue
            if answer.get("vnp_ResponseCode") == "91" and order.expires_at < clock():
                order.status, order.settled_at = "expired", clock()  # never paid, now too late
                session.commit()
                failed += 1
                continue
            if answer.get("vnp_ResponseCode") != "00" or answer.get("vnp_TxnRef") != ref:
                continue  # e.g. 91 before expiry: VNPay has no transaction yet
            status = answer.get("vnp_TransactionStatus", "")
            if answer.get("vnp_Amount") != str(order.amount * 100):
                log.error("vnpay.querydr_amount", txn_ref=ref, amount=answer.get("vnp_Amount"))
                continue
            if status == "00":
                apply(session, order, {**answer, "vnp_ResponseCode": "00"}, clock=clock)
                paid += 1
            elif status in FAILED_STATUSES or order.expires_at < clock():
                apply(session, order, {**answer, "vnp_ResponseCode": status or "99"}, clock=clock)
                failed += 1
            session.commit()
    return QueryResult(asked, paid, failed)


def refund(
    session: Session,
    settings: VnpaySettings,
    payment_id: int,
    amount: int,
    *,
    request_ref: str,
    by: str,
    reason: str,
    clock: ledger.Clock,
    post: Post = httpx_post,
) -> int:
    """Refund ``amount`` of a VNPay payment through VNPay, then on the ledger; the refund id."""
    secret = _secret(settings)
    pay = book.get(session, payment_id)
    if pay.channel != "vnpay":
        raise Invalid("payment_id", f"payment {payment_id} did not come through VNPay")
    order = session.get(VnpayOrderRow, pay.provider_ref)
    if order is None or order.status != "paid":
        raise Conflict(f"payment {payment_id} has no paid VNPay order")
    left = pay.amount - book.refunded(session, payment_id)
    if not 0 < amount <= left:
        raise Invalid("amount", f"refund must be 1..{left} for payment {payment_id}")
    body = vnpay.refund_request(
        secret=secret,
        tmn_code=settings.tmn_code,
        request_id=request_ref[:32],
        txn_ref=order.txn_ref,
        amount=amount,
        full=amount == pay.amount,
        transaction_no=order.transaction_no,
        transaction_date=vnpay.vnp_date(order.created_at),
        by=by[:50],
        now=clock(),
        ip_addr="127.0.0.1",
        info=f"Hoan tien {order.txn_ref}",
    )
    answer = {k: str(v) for k, v in post(settings.api_url, body).items()}
    if not vnpay.verify_answer(answer, secret, command="refund"):
        raise ProviderError("VNPay's refund answer has a bad signature")
    if answer.get("vnp_ResponseCode") != "00":
        code = answer.get("vnp_ResponseCode", "")
        raise ProviderError(f"VNPay refused the refund: {code} {answer.get('vnp_Message')}", code)
    row = book.refund(
        session,
        payment_id,
        amount,
        request_ref=request_ref,
        by=by,
        clock=clock,
        reason=reason,
        provider_ref=answer.get("vnp_TransactionNo", ""),
    )
    return row.id
