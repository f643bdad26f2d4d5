"""VNPay API 2.1.0, sans-IO: the signed payment URL, the IPN's signature, and the querydr and
refund requests and answers of the merchant web API.

* Payment URL and IPN: ``vnp_SecureHash`` = lowercase hex HMAC-SHA512(secret, query) where
  query is the non-empty ``vnp_*`` parameters but the hash's own, sorted by name,
  form-urlencoded (space → ``+``) and joined by ``&``. ``vnp_Amount`` is the amount × 100;
  dates are ``yyyyMMddHHmmss`` in GMT+7.
* querydr / refund (JSON POST): HMAC-SHA512 over the fields joined by ``|`` in a fixed order.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote_plus

VERSION = "2.1.0"
GMT7 = timezone(timedelta(hours=7))
HASH_FIELDS = ("vnp_SecureHash", "vnp_SecureHashType")

QUERYDR_FIELDS = (
    "RequestId",
    "Version",
    "Command",
    "TmnCode",
    "TxnRef",
    "TransactionDate",
    "CreateDate",
    "IpAddr",
    "OrderInfo",
)
REFUND_FIELDS = (
    "RequestId",
    "Version",
    "Command",
    "TmnCode",
    "TransactionType",
    "TxnRef",
    "Amount",
    "TransactionNo",
    "TransactionDate",
    "CreateBy",
    "CreateDate",
    "IpAddr",
    "OrderInfo",
)
QUERYDR_ANSWER = (
    "ResponseId",
    "Command",
    "ResponseCode",
    "Message",
    "TmnCode",
    "TxnRef",
    "Amount",
    "BankCode",
    "PayDate",
    "TransactionNo",
    "TransactionType",
    "TransactionStatus",
    "OrderInfo",
    "PromotionCode",
    "PromotionAmount",
)
REFUND_ANSWER = QUERYDR_ANSWER[:-2]


def vnp_date(ts: datetime) -> str:
    """``yyyyMMddHHmmss`` in GMT+7."""
    if ts.tzinfo is None:
        raise ValueError("a naive datetime has no GMT+7 time")
    return ts.astimezone(GMT7).strftime("%Y%m%d%H%M%S")


def parse_date(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=GMT7).astimezone(UTC)


def hmac512(secret: str, data: str) -> str:
    return hmac.new(secret.encode(), data.encode("utf-8"), hashlib.sha512).hexdigest()


def canonical(params: Mapping[str, str]) -> str:
    """The signed query: non-empty ``vnp_*`` parameters but the hash, sorted, urlencoded."""
    items = sorted(
        (k, v) for k, v in params.items() if k.startswith("vnp_") and k not in HASH_FIELDS and v
    )
    return "&".join(f"{quote_plus(k)}={quote_plus(str(v))}" for k, v in items)


def sign(params: Mapping[str, str], secret: str) -> str:
    return hmac512(secret, canonical(params))


def verify(params: Mapping[str, str], secret: str) -> bool:
    """Constant-time check of ``vnp_SecureHash`` over the other ``vnp_*`` parameters."""
    given = params.get("vnp_SecureHash", "")
    return bool(given) and hmac.compare_digest(given.lower(), sign(params, secret))


def payment_url(base: str, params: Mapping[str, str], secret: str) -> str:
    query = canonical(params)
    return f"{base}?{query}&vnp_SecureHash={hmac512(secret, query)}"


def order_info(text: str) -> str:
    """VNPay wants no diacritics: keep ASCII letters, digits, spaces and a few marks."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    kept = "".join(c for c in plain if c.isascii() and (c.isalnum() or c in " .,:-_#/"))
    return " ".join(kept.split())[:255] or "Thanh toan hoa don"


def pay_params(
    *,
    tmn_code: str,
    txn_ref: str,
    amount: int,
    info: str,
    return_url: str,
    ip_addr: str,
    created: datetime,
    expires: datetime,
    locale: str = "vn",
) -> dict[str, str]:
    return {
        "vnp_Version": VERSION,
        "vnp_Command": "pay",
        "vnp_TmnCode": tmn_code,
        "vnp_Amount": str(amount * 100),
        "vnp_CurrCode": "VND",
        "vnp_TxnRef": txn_ref,
        "vnp_OrderInfo": order_info(info),
        "vnp_OrderType": "billpayment",
        "vnp_Locale": locale,
        "vnp_ReturnUrl": return_url,
        "vnp_IpAddr": ip_addr,
        "vnp_CreateDate": vnp_date(created),
        "vnp_ExpireDate": vnp_date(expires),
    }


def _pipe(secret: str, body: Mapping[str, str], fields: tuple[str, ...]) -> str:
    return hmac512(secret, "|".join(str(body.get(f"vnp_{f}", "")) for f in fields))


def querydr_request(
    *,
    secret: str,
    tmn_code: str,
    request_id: str,
    txn_ref: str,
    transaction_date: str,
    now: datetime,
    ip_addr: str,
    info: str,
) -> dict[str, str]:
    body = {
        "vnp_RequestId": request_id,
        "vnp_Version": VERSION,
        "vnp_Command": "querydr",
        "vnp_TmnCode": tmn_code,
        "vnp_TxnRef": txn_ref,
        "vnp_OrderInfo": order_info(info),
        "vnp_TransactionDate": transaction_date,
        "vnp_CreateDate": vnp_date(now),
        "vnp_IpAddr": ip_addr,
    }
    body["vnp_SecureHash"] = _pipe(secret, body, QUERYDR_FIELDS)
    return body


def refund_request(
    *,
    secret: str,
    tmn_code: str,
    request_id: str,
    txn_ref: str,
    amount: int,
    full: bool,
    transaction_no: str,
    transaction_date: str,
    by: str,
    now: datetime,
    ip_addr: str,
    info: str,
) -> dict[str, str]:
    body = {
        "vnp_RequestId": request_id,
        "vnp_Version": VERSION,
        "vnp_Command": "refund",
        "vnp_TmnCode": tmn_code,
        "vnp_TransactionType": "02" if full else "03",
        "vnp_TxnRef": txn_ref,
        "vnp_Amount": str(amount * 100),
        "vnp_OrderInfo": order_info(info),
        "vnp_TransactionNo": transaction_no,
        "vnp_TransactionDate": transaction_date,
        "vnp_CreateBy": by,
        "vnp_CreateDate": vnp_date(now),
        "vnp_IpAddr": ip_addr,
    }
    body["vnp_SecureHash"] = _pipe(secret, body, REFUND_FIELDS)
    return body


def verify_answer(body: Mapping[str, str], secret: str, *, command: str) -> bool:
    """The hash of a querydr or refund answer (``command`` names which)."""
    fields = QUERYDR_ANSWER if command == "querydr" else REFUND_ANSWER
    given = str(body.get("vnp_SecureHash", ""))
    return bool(given) and hmac.compare_digest(given.lower(), _pipe(secret, body, fields))
