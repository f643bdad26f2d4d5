"""Prepaid recharge cards (seed 002): batches of cards with a number and a 12-digit PIN; the
PIN is stored only as a salted PBKDF2-HMAC-SHA256 hash. A card is redeemed to an account once
(the card number is the payment's reference). Each wrong PIN makes the caller wait longer
before the next try (1, 2, 4 … seconds, answered 429 meanwhile); the fifth locks the card.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.payments import PaymentRow, RechargeBatchRow, RechargeCardRow
from central.payments import book, ledger
from central.payments.errors import Conflict, Invalid, NotFound, PaymentError

log = structlog.get_logger(__name__)
ITERATIONS = 20_000
MAX_FAILURES = 5


class WrongPin(PaymentError):
    """The PIN does not match; ``left`` tries remain before the card locks."""

    def __init__(self, message: str, left: int) -> None:
        super().__init__(message)
        self.left = left


class TryLater(PaymentError):
    """Too soon after a wrong PIN; ``seconds`` to wait."""

    def __init__(self, message: str, seconds: int) -> None:
        super().__init__(message)
        self.seconds = seconds


def _hash(pin: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), ITERATIONS).hex()


@dataclass(frozen=True)
class NewCard:
    number: str
    pin: str  # shown once, at creation; never stored


def create_batch(
    session: Session, count: int, face_value: int, *, by: str, clock: ledger.Clock
) -> tuple[int, list[NewCard]]:
    if not 1 <= count <= 10_000:
        raise Invalid("count", "a batch holds 1 to 10,000 cards")
    if face_value <= 0 or face_value % 1000:
        raise Invalid("face_value", "a face value is a positive multiple of 1,000 VND")
    batch = RechargeBatchRow(face_value=face_value, count=count, created_by=by, created_at=clock())
    session.add(batch)
    session.flush()
    cards = []
    for _ in range(count):
        number = f"{batch.id:04d}{secrets.randbelow(10**10):010d}"
        pin = f"{secrets.randbelow(10**12):012d}"
        salt = secrets.token_hex(16)
        session.add(
            RechargeCardRow(
                number=number,
                batch_id=batch.id,
                face_value=face_value,
                pin_salt=salt,
                pin_hash=_hash(pin, salt),
            )
        )
        cards.append(NewCard(number, pin))
    session.flush()
    return batch.id, cards


def redeem(
    session: Session, number: str, pin: str, customer_id: int, *, by: str, clock: ledger.Clock
) -> PaymentRow:
    """Credit the card's value to the account, once; wrong PINs slow and then lock the card."""
    card = session.get(RechargeCardRow, number)
    if card is None:
        raise NotFound(f"no recharge card {number!r}")
    now = clock()
    if card.status == "locked":
        raise Conflict(f"card {number} is locked after {MAX_FAILURES} wrong PINs")
    if card.status == "redeemed":
        raise Conflict(f"card {number} was already redeemed")
    if card.retry_after is not None and now < card.retry_after:
        wait = int((card.retry_after - now).total_seconds()) + 1
        raise TryLater(f"card {number}: wait {wait} s after a wrong PIN", wait)
    if not hmac.compare_digest(_hash(pin, card.pin_salt), card.pin_hash):
        card.failures += 1
        card.retry_after = now + timedelta(seconds=2 ** (card.failures - 1))
        if card.failures >= MAX_FAILURES:
            card.status = "locked"
        session.flush()
        log.warning("prepaid.wrong_pin", card=number, failures=card.failures)
        raise WrongPin(f"card {number}: wrong PIN", MAX_FAILURES - card.failures)
    row, _ = book.record(
        session,
        book.NewPayment(
            channel="prepaid",
            method="prepaid",
            provider_ref=number,
            amount=card.face_value,
            taken_by=by,
            paid_at=now,
            customer_id=customer_id,
            note=f"recharge card batch {card.batch_id}",
        ),
        clock=clock,
    )
    card.status, card.payment_id, card.redeemed_at = "redeemed", row.id, now
    card.failures, card.retry_after = 0, None
    session.flush()
    return row


def card_status(session: Session, number: str) -> RechargeCardRow:
    card = session.scalar(select(RechargeCardRow).where(RechargeCardRow.number == number))
    if card is None:
        raise NotFound(f"no recharge card {number!r}")
    return card
