"""Bank transfers (VietQR, NAPAS 247): the bank-notification webhook and statement lines, each
transfer booked once by the bank's transaction reference and matched to an account.

Matching: an account number written in the transfer's content (the VietQR purpose carries
``TT <account>``) pays that account. A content whose number is one keystroke from an account
(a digit changed, swapped, missing or doubled) is only a *suggestion*: the money is booked
unassigned and an exception asks an operator, naming the likely account — first one whose
open balance equals the amount. Nothing is ever matched automatically on a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.payments import PaymentExceptionRow, PaymentRow
from central.db.models.records import CustomerRow
from central.payments import book, ledger
from central.payments.errors import Conflict

log = structlog.get_logger(__name__)
RUN = re.compile(r"\d{6,16}")


class WebhookAuthError(Conflict):
    """The notification is not from the bank service (bad key or signature, stale)."""


def check_auth(
    *,
    raw: bytes,
    authorization: str | None,
    signature: str | None,
    timestamp: str | None,
    api_key: str,
    hmac_secret: str,
    now: datetime,
    max_age: timedelta = timedelta(minutes=5),
) -> None:
    """``Authorization: Apikey KEY`` or ``X-Signature`` = hex HMAC-SHA256 over
    ``<X-Timestamp>.<raw body>`` with a timestamp no older than ``max_age``."""
    if api_key and authorization:
        given = authorization.removeprefix("Apikey ").strip()
        if hmac.compare_digest(given.encode(), api_key.encode()):
            return
        raise WebhookAuthError("bank webhook: wrong API key")
    if hmac_secret and signature and timestamp:
        try:
            sent = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
        except (ValueError, OverflowError) as exc:
            raise WebhookAuthError(f"bank webhook: bad timestamp {timestamp!r}") from exc
        if abs(now - sent) > max_age:
            raise WebhookAuthError("bank webhook: stale timestamp (older than 5 minutes)")
        mac = hmac.new(hmac_secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
        if hmac.compare_digest(signature.removeprefix("sha256=").lower(), mac.hexdigest()):
            return
        raise WebhookAuthError("bank webhook: bad signature")
    raise WebhookAuthError("bank webhook: no credentials (Apikey or X-Signature/X-Timestamp)")


@dataclass(frozen=True)
class Match:
    customer_id: int | None  # set only for an exact account number in the content
    suggested: tuple[int, ...]  # likely accounts, best first, for an operator
    detail: str


def _variants(run: str) -> set[str]:
    """Every string one keystroke from ``run``."""
    out: set[str] = set()
    digits = "0123456789"
    for i in range(len(run)):
        out.add(run[:i] + run[i + 1 :])
        out.update(run[:i] + d + run[i + 1 :] for d in digits)
        if i + 1 < len(run):
            out.add(run[:i] + run[i + 1] + run[i] + run[i + 2 :])
    for i in range(len(run) + 1):
        out.update(run[:i] + d + run[i:] for d in digits)
    out.discard(run)
    return out


def match(session: Session, content: str, amount: int, *, clock: ledger.Clock) -> Match:
    runs = RUN.findall(content)
    for run in runs:
        exact = session.scalars(select(CustomerRow.id).where(CustomerRow.account_no == run)).all()
        if len(exact) == 1:
            return Match(exact[0], (), f"account {run} in the content")
    candidates: list[int] = []
    for run in runs:
        near = session.scalars(
            select(CustomerRow.id).where(CustomerRow.account_no.in_(_variants(run)))
        ).all()
        candidates += [c for c in near if c not in candidates]
    if not candidates:
        return Match(None, (), "no account number in the content")
    owed = {c: ledger.balance(session, c).owed for c in candidates}
    ranked = sorted(candidates, key=lambda c: (owed[c] != amount, c))
    return Match(None, tuple(ranked), f"content {content[:80]!r} is near account(s) {ranked}")


def exception(
    session: Session,
    *,
    kind: str,
    subject: str,
    channel: str,
    amount: int,
    detail: str,
    now: datetime,
    payment_id: int | None = None,
    line_id: int | None = None,
    suggested: int | None = None,
) -> None:
    """Open an exception once per ``(kind, subject)``."""
    found = session.scalar(
        select(PaymentExceptionRow.id).where(
            PaymentExceptionRow.kind == kind, PaymentExceptionRow.subject == subject
        )
    )
    if found is None:
        session.add(
            PaymentExceptionRow(
                kind=kind,
                subject=subject[:120],
                channel=channel,
                amount=amount,
                detail=detail[:500],
                payment_id=payment_id,
                line_id=line_id,
                suggested_customer_id=suggested,
                created_at=now,
            )
        )


def book_transfer(
    session: Session,
    *,
    ref: str,
    amount: int,
    content: str,
    paid_at: datetime,
    by: str,
    clock: ledger.Clock,
) -> tuple[PaymentRow, bool]:
    """A credited transfer, once per bank reference; matched, suggested or unassigned."""
    existing = book.find(session, "bank", ref)
    if existing is not None:
        if existing.amount != amount:
            raise Conflict(f"bank transfer {ref!r} already booked with {existing.amount}")
        return existing, False
    m = match(session, content, amount, clock=clock)
    row, new = book.record(
        session,
        book.NewPayment(
            channel="bank",
            method="transfer",
            provider_ref=ref,
            amount=amount,
            taken_by=by,
            paid_at=paid_at,
            customer_id=m.customer_id,
            note=content[:300],
        ),
        clock=clock,
    )
    if new and m.customer_id is None:
        kind = "suggested" if m.suggested else "unmatched_transfer"
        exception(
            session,
            kind=kind,
            subject=f"bank:{ref}",
            channel="bank",
            amount=amount,
            detail=m.detail,
            now=clock(),
            payment_id=row.id,
            suggested=m.suggested[0] if m.suggested else None,
        )
    log.info("bank.transfer", ref=ref, amount=amount, customer=m.customer_id, new=new)
    return row, new
