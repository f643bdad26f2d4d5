"""A hosted card/wallet gateway on Alipay's public page-pay protocol (RSA2), with seed 002's
arrears check: an account that owes nothing cannot be paid ("未欠费").

* Page pay: the parameters (``app_id, method, charset, sign_type=RSA2, timestamp, version,
  notify_url, return_url, biz_content``) signed with the merchant's private key —
  SHA256withRSA (PKCS#1 v1.5) over every non-empty parameter but ``sign``, sorted by key,
  joined ``k=v&…`` with raw values, base64.
* Asynchronous notify (form POST): verified without ``sign`` and ``sign_type`` against the
  gateway's public key; app id, order and amount checked; answered ``success`` (also for a
  repeat) so the gateway stops resending, else ``failure``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from datetime import timedelta, timezone
from urllib.parse import urlencode

import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.db.models.payments import WalletOrderRow
from central.payments import book, ledger, rejections
from central.payments.errors import Invalid
from central.payments.idempotency import writer
from central.settings import WalletSettings

log = structlog.get_logger(__name__)
CST = timezone(timedelta(hours=8))
PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")


def signing_text(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type") and v != ""
    )


def sign(params: Mapping[str, str], private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    sig = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(sig).decode()


def public_key(public_pem: str) -> rsa.RSAPublicKey | None:
    """The gateway's RSA public key, or None when none (or no RSA key) is configured."""
    try:
        key = serialization.load_pem_public_key(public_pem.encode())
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def verify(params: Mapping[str, str], public_pem: str) -> bool:
    key = public_key(public_pem)
    if key is None:
        return False
    try:
        key.verify(
            base64.b64decode(params.get("sign", ""), validate=True),
            signing_text(params).encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def yuan(amount: int) -> str:
    """The protocol's ``total_amount``: major units with two decimals."""
    return f"{amount}.00"


def create_order(
    session: Session,
    settings: WalletSettings,
    *,
    customer_id: int,
    amount: int | None,
    by: str,
    clock: ledger.Clock,
) -> tuple[str, int, str]:
    """``(out_trade_no, amount, pay_url)``; refused when the account owes nothing."""
    if not settings.app_id or not settings.merchant_private_key.get_secret_value():
        raise Invalid("payments.wallet", "the wallet gateway is not configured")
    ledger.settle(session, customer_id, clock=clock)
    owed = ledger.balance(session, customer_id).owed
    if owed <= 0:
        raise Invalid(
            "customer_id",
            f"account {customer_id} owes nothing: there is nothing "
            "to pay through the wallet gateway",
        )
    amount = owed if amount is None else amount
    if not 0 < amount <= owed:
        raise Invalid("amount", f"amount must be 1..{owed} (what the account owes)")
    now = clock()
    trade = f"W{now.astimezone(CST):%Y%m%d%H%M%S}{secrets.token_hex(3).upper()}"
    session.add(
        WalletOrderRow(
            out_trade_no=trade,
            customer_id=customer_id,
            amount=amount,
            created_by=by,
            created_at=now,
        )
    )
    session.flush()
    params = {
        "app_id": settings.app_id,
        "method": "alipay.trade.page.pay",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": f"{now.astimezone(CST):%Y-%m-%d %H:%M:%S}",
        "version": "1.0",
        "notify_url": settings.notify_url,
        "return_url": settings.return_url,
        "biz_content": json.dumps(
            {
                "out_trade_no": trade,
                "total_amount": yuan(amount),
                "subject": f"Account {customer_id}",
                "product_code": "FAST_INSTANT_TRADE_PAY",
            },
            separators=(",", ":"),
        ),
    }
    params["sign"] = sign(params, settings.merchant_private_key.get_secret_value())
    return trade, amount, f"{settings.gateway_url}?{urlencode(params)}"


def notify(
    engine: Engine, settings: WalletSettings, params: Mapping[str, str], *, clock: ledger.Clock
) -> str:
    """The asynchronous notification: ``success`` or ``failure`` (plain text); refusals are
    counted."""
    answer, why = _notify(engine, settings, params, clock=clock)
    if answer != "success":
        rejections.reject(engine, "wallet", why, params, now=clock())
    return answer


def _notify(
    engine: Engine, settings: WalletSettings, params: Mapping[str, str], *, clock: ledger.Clock
) -> tuple[str, str]:
    if public_key(settings.gateway_public_key) is None:
        log.error("wallet notification refused: no gateway public key configured")
        return "failure", "the wallet gateway's public key is not configured"
    if not verify(params, settings.gateway_public_key):
        return "failure", "bad signature"
    if params.get("app_id") != settings.app_id:
        return "failure", "wrong app_id"
    with writer(engine) as session:
        query = select(WalletOrderRow).where(
            WalletOrderRow.out_trade_no == params.get("out_trade_no", "")
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        order = session.scalar(query)
        if order is None:
            return "failure", "unknown out_trade_no"
        if params.get("total_amount") != yuan(order.amount):
            return "failure", "wrong total_amount"
        status = params.get("trade_status", "")
        if order.status != "pending" or status == "WAIT_BUYER_PAY":
            return "success", ""  # already settled, or nothing yet: stop resending
        if status in PAID:
            row, _ = book.record(
                session,
                book.NewPayment(
                    channel="wallet",
                    method="wallet",
                    provider_ref=order.out_trade_no,
                    amount=order.amount,
                    taken_by="wallet",
                    paid_at=clock(),
                    customer_id=order.customer_id,
                    note=f"trade {params.get('trade_no', '')}",
                ),
                clock=clock,
            )
            order.status, order.payment_id = "paid", row.id
        else:
            order.status = "closed"
        order.trade_no = params.get("trade_no", "")[:64]
        session.commit()
    return "success", ""
