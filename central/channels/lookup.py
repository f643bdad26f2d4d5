"""The public bill lookup (seed 000's "tra cứu tiền nước"): by account number or phone, the
amount due and the due date only — nothing personal — and rate-limited per caller."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.billing import bills
from central.channels.queries import OPEN_STATES
from central.db.models.billing import BillRow
from central.db.models.records import CustomerRow

PAYMENT_TERM = timedelta(days=15)  # an issued bill is due this long after it is issued
MAX_ACCOUNTS = 10  # a phone shared by more accounts shows the first ten


@dataclass(frozen=True)
class Due:
    account: str  # masked: 01*******91
    amount_due: int
    currency: str
    due_date: date | None


def mask(account: str) -> str:
    if len(account) <= 4:
        return "*" * len(account)
    return account[:2] + "*" * (len(account) - 4) + account[-2:]


def lookup(session: Session, *, account: str | None, phone: str | None) -> list[Due]:
    """What each matching account owes; an account is matched exactly, never by pattern."""
    query = select(CustomerRow).order_by(CustomerRow.id).limit(MAX_ACCOUNTS)
    if account:
        query = query.where(CustomerRow.account_no == account)
    elif phone:
        query = query.where(CustomerRow.phone == phone)
    else:
        return []
    result = []
    for customer in session.scalars(query):
        open_bills = list(
            session.scalars(
                select(BillRow)
                .where(BillRow.customer_id == customer.id, BillRow.state.in_(OPEN_STATES))
                .order_by(BillRow.period_end)
            )
        )
        due = sum(bills.balance(session, b) for b in open_bills)
        first = open_bills[0] if open_bills else None
        due_date = first.issued_at.date() + PAYMENT_TERM if first and first.issued_at else None
        currency = first.currency if first else "VND"
        result.append(Due(mask(customer.account_no), due, currency, due_date))
    return result


class RateLimiter:
    """A token bucket per caller: ``rate`` requests a minute, bursts of ``burst``."""

    def __init__(
        self, *, rate: float = 30, burst: int = 10, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate, self._burst, self._clock = rate / 60.0, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, caller: str) -> bool:
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(caller, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - last) * self._rate)
            allowed = tokens >= 1.0
            self._buckets[caller] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > 100_000:  # forget the idle callers
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}
            return allowed
