"""One-time codes: six digits sent by SMS to the phone on record, valid ten minutes, five
tries, used once. The client holds an opaque token naming the challenge."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.records import CustomerRow
from central.db.models.selfservice import OtpRow
from central.notify.queue import Message, queue

Clock = Callable[[], datetime]
TTL = timedelta(minutes=10)
MAX_TRIES = 5


class OtpError(Exception):
    """A code that is wrong, expired, used or tried too often."""


def _digest(token: str, code: str) -> str:
    return hashlib.sha256(f"{token}:{code}".encode()).hexdigest()


def mask_phone(phone: str) -> str:
    return phone[:2] + "*" * max(len(phone) - 4, 0) + phone[-2:] if len(phone) > 4 else "****"


def send(
    session: Session,
    purpose: str,
    customer: CustomerRow,
    *,
    clock: Clock,
    user_id: int | None = None,
    code: str | None = None,
) -> str:
    """Send a code to the customer's phone on record; returns the challenge token."""
    if not customer.phone:
        raise OtpError(f"account {customer.account_no} has no phone on record; ask the office")
    now = clock()
    token = secrets.token_urlsafe(18)
    code = code or f"{secrets.randbelow(1_000_000):06d}"
    row = OtpRow(
        token=token,
        purpose=purpose,
        customer_id=customer.id,
        user_id=user_id,
        code_hash=_digest(token, code),
        attempts=0,
        created_at=now,
        expires_at=now + TTL,
    )
    session.add(row)
    session.flush()
    text = f"Ma xac thuc meter2cash: {code} (hieu luc 10 phut). Khong chia se ma nay."
    queue(session, [Message("sms", customer.phone, f"otp:{row.id}", text)], clock=clock)
    return token


def check(session: Session, token: str, code: str, purpose: str, *, clock: Clock) -> OtpRow:
    """The challenge if ``code`` is right; counts a wrong try (the caller commits)."""
    row = session.scalar(select(OtpRow).where(OtpRow.token == token))
    now = clock()
    if row is None or row.purpose != purpose:
        raise OtpError("unknown code request")
    if row.used_at is not None or row.expires_at <= now or row.attempts >= MAX_TRIES:
        raise OtpError("this code has expired; ask for a new one")
    if not hmac.compare_digest(row.code_hash, _digest(token, code)):
        row.attempts += 1
        session.flush()
        raise OtpError(f"wrong code ({MAX_TRIES - row.attempts} tries left)")
    row.used_at = now
    session.flush()
    return row
