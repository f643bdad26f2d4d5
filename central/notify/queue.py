"""Queue notifications idempotently: a message already queued for a recipient under the same
``dedupe_key`` is not queued again (the outbox's unique key decides, also across workers)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from central.db.models.notifications import NotificationRow

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Message:
    channel: str  # zalo | wechat | email | sms
    address: str  # chat user id, e-mail address or phone number
    dedupe_key: str  # bill:<id>, outage:<id>, payment:<id>, msg:<id>
    text: str
    subject: str = ""


def queue(session: Session, messages: Iterable[Message], *, clock: Clock) -> int:
    """Insert ``messages``, skipping those queued before; returns how many were new."""
    now = clock()
    values = [
        {
            "channel": m.channel,
            "address": m.address,
            "dedupe_key": m.dedupe_key,
            "subject": m.subject[:200],
            "text": m.text,
            "state": "pending",
            "attempts": 0,
            "last_error": "",
            "created_at": now,
            "next_attempt_at": now,
        }
        for m in messages
    ]
    if not values:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(NotificationRow.__table__).on_conflict_do_nothing(  # type: ignore[arg-type]
        index_elements=["channel", "address", "dedupe_key"]
    )
    return max(session.connection().execute(stmt, values).rowcount, 0)
