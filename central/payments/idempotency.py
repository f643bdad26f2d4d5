"""``Idempotency-Key``: the first answer for a key is stored with the work it describes, in the
same transaction, and returned for every repeat; a repeat with other parameters is refused.

Two requests with one key at the same moment both try to store the key; the database's
primary key lets one win, the other rolls back its work and replays the winner's answer.
Keys are kept at least 24 hours (``purge`` removes older ones).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from central.db.models.payments import IdempotencyKeyRow
from central.payments.errors import Conflict, Invalid

KEEP = timedelta(hours=24)


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def fingerprint(params: Any) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def check_key(key: str | None) -> str:
    if key is None or not 1 <= len(key) <= 200:
        raise Invalid(
            "Idempotency-Key",
            "the Idempotency-Key header (1 to 200 characters) is "
            "required for a request that creates money movements",
        )
    return key


def writer(engine: Engine) -> Session:
    """A session whose transactions take SQLite's write lock at BEGIN (read-then-write safe)."""
    return Session(engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False)


def run(
    engine: Engine,
    scope: str,
    key: str,
    params: Any,
    work: Callable[[Session], tuple[int, dict[str, Any]]],
    *,
    clock: Callable[[], datetime],
) -> Answer:
    """``work(session)`` once for ``(scope, key)``; its answer is stored with its effects."""
    digest = fingerprint(params)
    for _attempt in range(5):
        with writer(engine) as session:
            stored = session.get(IdempotencyKeyRow, (scope, key))
            if stored is not None:
                if stored.request_hash != digest:
                    raise Conflict(f"Idempotency-Key {key!r} was used with other parameters")
                return Answer(stored.status_code, json.loads(stored.body), replayed=True)
            status, body = work(session)
            session.add(
                IdempotencyKeyRow(
                    scope=scope,
                    key=key,
                    request_hash=digest,
                    status_code=status,
                    body=json.dumps(body, default=str),
                    created_at=clock(),
                )
            )
            try:
                session.commit()
            except (IntegrityError, OperationalError):
                session.rollback()
                continue
            return Answer(status, body)
    raise Conflict(f"Idempotency-Key {key!r} is busy; try again")


def purge(session: Session, *, now: datetime) -> int:
    result = session.execute(
        delete(IdempotencyKeyRow).where(IdempotencyKeyRow.created_at < now - KEEP)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
