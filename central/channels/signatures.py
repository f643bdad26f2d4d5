"""The chat platforms' own request signatures, checked in constant time (sans-IO).

Zalo OA: header ``X-ZEvent-Signature: mac=<hex>``, the hex being a plain SHA-256 of
``app_id + raw body + timestamp + OA secret``. WeChat OA: query ``signature`` is the SHA-1 hex
of the sorted concatenation of the token, ``timestamp`` and ``nonce``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta


class SignatureError(Exception):
    """A callback whose signature is missing, malformed, wrong or stale."""


def zalo_mac(app_id: str, body: bytes, timestamp: str, oa_secret: str) -> str:
    data = app_id.encode() + body + timestamp.encode() + oa_secret.encode()
    return hashlib.sha256(data).hexdigest()


def check_zalo(
    header: str | None, *, app_id: str, body: bytes, timestamp: str, oa_secret: str
) -> None:
    if not header:
        raise SignatureError("missing X-ZEvent-Signature")
    mac = header.strip()
    if mac.startswith("mac="):
        mac = mac[4:]
    expected = zalo_mac(app_id, body, timestamp, oa_secret)
    if not hmac.compare_digest(mac.lower().encode(), expected.encode()):
        raise SignatureError("X-ZEvent-Signature does not match the body")


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()


def check_wechat(signature: str | None, *, token: str, timestamp: str, nonce: str) -> None:
    if not signature:
        raise SignatureError("missing signature")
    expected = wechat_signature(token, timestamp, nonce)
    if not hmac.compare_digest(signature.lower().encode(), expected.encode()):
        raise SignatureError("signature does not match token, timestamp and nonce")


def check_fresh(sent_at: datetime, now: datetime, *, window: timedelta) -> None:
    """Refuse a callback whose own timestamp is further than ``window`` from ``now``."""
    if abs(now - sent_at) > window:
        raise SignatureError(f"stale timestamp {sent_at.isoformat()} (now {now.isoformat()})")
