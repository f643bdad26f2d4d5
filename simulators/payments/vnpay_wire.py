"""VNPay 2.1.0 as the provider computes it (written from the specification on its own, so a
merchant's implementation is checked against an independent one)."""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

GMT7 = timezone(timedelta(hours=7))

QUERYDR_IN = "RequestId Version Command TmnCode TxnRef TransactionDate CreateDate IpAddr OrderInfo"
REFUND_IN = (
    "RequestId Version Command TmnCode TransactionType TxnRef Amount TransactionNo "
    "TransactionDate CreateBy CreateDate IpAddr OrderInfo"
)
QUERYDR_OUT = (
    "ResponseId Command ResponseCode Message TmnCode TxnRef Amount BankCode PayDate "
    "TransactionNo TransactionType TransactionStatus OrderInfo PromotionCode "
    "PromotionAmount"
)
REFUND_OUT = " ".join(QUERYDR_OUT.split()[:-2])


def _hmac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode("utf-8"), hashlib.sha512).hexdigest()


def query_hash(params: Mapping[str, str], secret: str) -> str:
    fields = {
        k: v
        for k, v in params.items()
        if k.startswith("vnp_") and k not in ("vnp_SecureHash", "vnp_SecureHashType") and v
    }
    return _hmac(secret, urllib.parse.urlencode(sorted(fields.items())))


def query_ok(params: Mapping[str, str], secret: str) -> bool:
    return hmac.compare_digest(params.get("vnp_SecureHash", "").lower(), query_hash(params, secret))


def pipe_hash(body: Mapping[str, object], names: str, secret: str) -> str:
    return _hmac(secret, "|".join(str(body.get(f"vnp_{n}", "")) for n in names.split()))


def now7(ts: datetime) -> str:
    return ts.astimezone(GMT7).strftime("%Y%m%d%H%M%S")
