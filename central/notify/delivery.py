"""Deliver queued notifications with retries and back-off; each in its own transaction.

A message is marked sent only after its channel accepted it. A crash between the two sends
it again on restart (neither SMTP nor the chat platforms offer an idempotency key); nothing
queued is ever lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from central.db.models.notifications import NotificationRow
from central.notify.senders import Sender, SendError

Clock = Callable[[], datetime]
log = structlog.get_logger("central.notify")


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at one hour."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), 3600))


def deliver_due(
    sessions: sessionmaker[Session],
    senders: Mapping[str, Sender],
    *,
    clock: Clock,
    limit: int = 200,
    max_attempts: int = 10,
) -> tuple[int, int]:
    """Send what is due; returns (sent, failed attempts)."""
    with sessions() as session:
        due = list(
            session.scalars(
                select(NotificationRow.id)
                .where(
                    NotificationRow.state == "pending",
                    NotificationRow.next_attempt_at <= clock(),
                    NotificationRow.channel.in_(list(senders)),
                )
                .order_by(NotificationRow.id)
                .limit(limit)
            )
        )
    sent = failed = 0
    for row_id in due:
        with sessions() as session:
            row = session.get(NotificationRow, row_id)
            if row is None or row.state != "pending":
                continue
            row.attempts += 1
            try:
                senders[row.channel].send(row.address, row.text, row.subject)
            except SendError as exc:
                failed += 1
                row.last_error = str(exc)[:300]
                if exc.permanent or row.attempts >= max_attempts:
                    row.state = "failed"
                    log.warning("notification_failed", id=row.id, error=row.last_error)
                else:
                    row.next_attempt_at = clock() + backoff(row.attempts)
            else:
                sent += 1
                row.state, row.sent_at, row.last_error = "sent", clock(), ""
            session.commit()
    return sent, failed
