"""VNPay orders: create one for bills or an account's open balance, settle it from the IPN
(or from querydr when the IPN never came), and tell the customer how it went.

The IPN is answered in VNPay's order of checks: signature (97), order (01), amount (04),
already confirmed (02), then 00; anything unexpected is 99. Only ``vnp_ResponseCode == "00"``
with ``vnp_TransactionStatus == "00"`` pays; any other outcome marks the order failed and
records a failed payment. Each order is locked while it is settled, and the payment's
reference (the order's ``vnp_TxnRef``) is unique: three IPNs at once make one payment.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.db.models.billing import BillRow
from central.db.models.payments import VnpayOrderRow
from central.payments import book, ledger, rejections, vnpay
from central.payments.errors import Invalid, NotFound
from central.payments.idempotency import writer
from central.settings import VnpaySettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Order:
    txn_ref: str
    amount: int
    payment_url: str


def _secret(settings: VnpaySettings) -> str:
    secret = settings.hash_secret.get_secret_value()
    if not secret or not settings.tmn_code:
        raise Invalid("payments.vnpay", "VNPay is not configured (tmn_code, hash_secret)")
    return secret


def _open_bills(
    session: Session, customer_id: int, bill_ids: list[int], *, clock: ledger.Clock
) -> tuple[int, int]:
    """The customer and the amount the named bills still need."""
    bills = [session.get(BillRow, b) for b in bill_ids]
    missing = [b for b, row in zip(bill_ids, bills, strict=True) if row is None]
    if missing:
        raise NotFound(f"no bill {missing[0]}")
    owners = {b.customer_id for b in bills if b is not None}
    if len(owners) != 1:
        raise Invalid("bill_ids", "the bills of one order must belong to one account")
    cid = owners.pop()
    if customer_id and cid != customer_id:
        raise Invalid("bill_ids", f"the bills are not customer {customer_id}'s")
    ledger.settle(session, cid, clock=clock)
    dues = ledger.dues_of(session, [b for b in bills if b is not None])
    for b in bills:
        assert b is not None
        if b.state not in ledger.CHARGED or dues[b.id].open == 0:
            raise Invalid("bill_ids", f"bill {b.id} is {b.state}: nothing to pay on it")
    return cid, sum(dues[b].open for b in bill_ids)


def create(
    session: Session,
    settings: VnpaySettings,
    *,
    bill_ids: list[int],
    customer_id: int | None,
    ip_addr: str,
    by: str,
    clock: ledger.Clock,
) -> Order:
    """An order for ``bill_ids`` (what they still need) or an account's open balance."""
    secret = _secret(settings)
    if bill_ids:
        cid, amount = _open_bills(session, customer_id or 0, sorted(set(bill_ids)), clock=clock)
    elif customer_id is not None:
        ledger.settle(session, customer_id, clock=clock)
        cid, amount = customer_id, ledger.balance(session, customer_id).owed
        if amount <= 0:
            raise Invalid("customer_id", f"account {customer_id} owes nothing: nothing to pay")
    else:
        raise Invalid("bill_ids", "name the bills or the account to pay")
    now = clock()
    txn_ref = f"{vnpay.vnp_date(now)[2:]}{secrets.token_hex(3).upper()}"
    expires = now + timedelta(minutes=settings.order_minutes)
    session.add(
        VnpayOrderRow(
            txn_ref=txn_ref,
            customer_id=cid,
            bill_ids=",".join(str(b) for b in sorted(set(bill_ids))),
            amount=amount,
            status="pending",
            created_by=by,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    what = f"bills {', '.join(map(str, sorted(set(bill_ids))))}" if bill_ids else "account"
    params = vnpay.pay_params(
        tmn_code=settings.tmn_code,
        txn_ref=txn_ref,
        amount=amount,
        info=f"Thanh toan {what} KH {cid} ma {txn_ref}",
        return_url=settings.return_url,
        ip_addr=ip_addr,
        created=now,
        expires=expires,
    )
    log.info("vnpay.order", txn_ref=txn_ref, amount=amount, customer=cid)
    return Order(txn_ref, amount, vnpay.payment_url(settings.pay_url, params, secret))


def _lock(session: Session, txn_ref: str) -> VnpayOrderRow | None:
    query = select(VnpayOrderRow).where(VnpayOrderRow.txn_ref == txn_ref)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalar(query)


def apply(
    session: Session, order: VnpayOrderRow, result: Mapping[str, str], *, clock: ledger.Clock
) -> None:
    """Settle a pending order from an IPN or a querydr answer already checked."""
    paid = result.get("vnp_ResponseCode") == "00" and result.get("vnp_TransactionStatus") == "00"
    code = result.get("vnp_ResponseCode", "") or result.get("vnp_TransactionStatus", "")
    order.response_code = code[:8]
    order.transaction_no = result.get("vnp_TransactionNo", "")[:32]
    order.bank_code = result.get("vnp_BankCode", "")[:32]
    order.settled_at = clock()
    try:
        paid_at = vnpay.parse_date(result.get("vnp_PayDate", ""))
    except ValueError:
        paid_at = clock()
    bills = [int(b) for b in order.bill_ids.split(",") if b]
    row, _ = book.record(
        session,
        book.NewPayment(
            channel="vnpay",
            method="qr",
            provider_ref=order.txn_ref,
            amount=order.amount,
            taken_by="vnpay",
            paid_at=paid_at,
            customer_id=order.customer_id,
            bill_id=bills[0] if len(bills) == 1 else None,
            status="completed" if paid else "failed",
            note=f"vnpay {order.transaction_no} {order.bank_code} code {code}".strip(),
        ),
        clock=clock,
    )
    order.payment_id = row.id
    order.status = "paid" if paid else "failed"
    log.info("vnpay.settled", txn_ref=order.txn_ref, status=order.status, code=code)


def ipn(
    engine: Engine, settings: VnpaySettings, params: Mapping[str, str], *, clock: ledger.Clock
) -> tuple[str, str]:
    """VNPay's IPN: the ``(RspCode, Message)`` to answer; refusals are counted."""
    code, message = _ipn(engine, settings, params, clock=clock)
    if code not in ("00", "02"):
        rejections.reject(engine, "vnpay", f"IPN {code} {message}", params, now=clock())
    return code, message


def _ipn(
    engine: Engine, settings: VnpaySettings, params: Mapping[str, str], *, clock: ledger.Clock
) -> tuple[str, str]:
    try:
        if not vnpay.verify(params, _secret(settings)):
            return "97", "Invalid signature"
        with writer(engine) as session:
            order = _lock(session, params.get("vnp_TxnRef", ""))
            if order is None:
                return "01", "Order not found"
            if params.get("vnp_Amount") != str(order.amount * 100):
                return "04", "Invalid amount"
            if order.status not in ("pending", "expired"):  # money after expiry still lands
                return "02", "Order already confirmed"
            apply(session, order, params, clock=clock)
            session.commit()
            return "00", "Confirm Success"
    except Exception:  # VNPay must always get an answer; the reason is logged
        log.exception("vnpay.ipn_failed", txn_ref=params.get("vnp_TxnRef"))
        return "99", "Unknown error"


def get(session: Session, txn_ref: str) -> VnpayOrderRow:
    order = session.get(VnpayOrderRow, txn_ref)
    if order is None:
        raise NotFound(f"no VNPay order {txn_ref!r}")
    return order


def outcome(session: Session, settings: VnpaySettings, params: Mapping[str, str]) -> str:
    """What the return page tells the customer; it settles nothing (the IPN or querydr do)."""
    if not vnpay.verify(params, _secret(settings)):
        return "invalid"  # a forged or damaged return link
    order = session.get(VnpayOrderRow, params.get("vnp_TxnRef", ""))
    if order is None:
        return "unknown"
    if order.status != "pending":
        return order.status
    return "processing" if params.get("vnp_ResponseCode") == "00" else "not_paid"
