"""Deliver queued notifications in batches per channel, with retries and back-off.

A batch is read, handed to its channel's sender, and the outcome of every message is written
in one transaction. A message is marked sent only after its channel accepted it; a crash
between the two sends it again on restart (neither SMTP, SMS gateways nor the chat platforms
offer an idempotency key), and nothing queued is ever lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from central.db.models.notifications import NotificationRow
from central.notify.senders import Outgoing, Sender, SendError, send_all

Clock = Callable[[], datetime]
OUTBOX: Table = NotificationRow.__table__  # type: ignore[assignment]
log = structlog.get_logger("central.notify")


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at one hour."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), 3600))


def deliver_due(
    sessions: sessionmaker[Session],
    senders: Mapping[str, Sender],
    *,
    clock: Clock,
    batch: int = 500,
    rounds: int = 1_000_000,
    max_attempts: int = 10,
) -> tuple[int, int]:
    """Send what is due, ``batch`` messages of a channel at a time, until nothing is due (or
    ``rounds`` batches were sent); returns (sent, failed attempts)."""
    sent = failed = 0
    after = dict.fromkeys(senders, 0)  # each channel's last id handled: one pass, in id order
    for _ in range(rounds):
        delivered = 0
        for channel, sender in senders.items():
            s, f, after[channel] = _one_batch(
                sessions, channel, sender, clock, batch, max_attempts, after[channel]
            )
            sent, failed, delivered = sent + s, failed + f, delivered + s + f
        if delivered == 0:
            break
    return sent, failed


def _one_batch(
    sessions: sessionmaker[Session],
    channel: str,
    sender: Sender,
    clock: Clock,
    batch: int,
    max_attempts: int,
    after: int,
) -> tuple[int, int, int]:
    with sessions() as session:
        rows = session.execute(
            select(
                NotificationRow.id,
                NotificationRow.address,
                NotificationRow.subject,
                NotificationRow.text,
                NotificationRow.attempts,
            )
            .where(
                NotificationRow.state == "pending",
                NotificationRow.channel == channel,
                NotificationRow.next_attempt_at <= clock(),
                NotificationRow.id > after,
            )
            .order_by(NotificationRow.id)
            .limit(batch)
        ).all()
    if not rows:
        return 0, 0, after
    outcomes = send_all(sender, [Outgoing(r.address, r.text, r.subject) for r in rows])
    now = clock()
    changes = []
    sent = failed = 0
    for row, error in zip(rows, outcomes, strict=True):
        attempts = row.attempts + 1
        if error is None:
            sent += 1
            changes.append(_change(row.id, "sent", attempts, "", now, now))
            continue
        failed += 1
        final = (isinstance(error, SendError) and error.permanent) or attempts >= max_attempts
        if final:
            log.warning("notification_failed", id=row.id, channel=channel, error=str(error))
        retry_at = now if final else now + backoff(attempts)
        state = "failed" if final else "pending"
        changes.append(_change(row.id, state, attempts, str(error)[:300], retry_at, None))
    with sessions() as session:
        session.connection().execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("row_id"))
            .values(
                state=bindparam("new_state"),
                attempts=bindparam("new_attempts"),
                last_error=bindparam("error"),
                next_attempt_at=bindparam("retry_at"),
                sent_at=bindparam("done_at"),
            ),
            changes,
        )
        session.commit()
    return sent, failed, rows[-1].id


def _change(
    row_id: int, state: str, attempts: int, error: str, retry_at: datetime, done: datetime | None
) -> dict[str, object]:
    return {
        "row_id": row_id,
        "new_state": state,
        "new_attempts": attempts,
        "error": error,
        "retry_at": retry_at,
        "done_at": done,
    }
