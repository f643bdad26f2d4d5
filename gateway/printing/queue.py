"""Durable print queue (SQLite, WAL): every job has an id and survives crashes.

A job holds two renderings: the original and the copy (marked "BẢN SAO / COPY"). The state is
committed as ``sending`` before the first byte goes out, so after a crash or a lost link the
queue knows that the job *may* have printed, and prints it again as the copy — never the
original twice. A job whose bytes provably never reached the printer goes out as the original.

States: ``queued`` → ``sending`` → ``printed``; ``failed`` after ``max_attempts``.
"""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS print_jobs (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    printer    TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT '',
    ref        TEXT NOT NULL DEFAULT '',
    data       BLOB NOT NULL,
    copy_data  BLOB NOT NULL,
    state      TEXT NOT NULL,
    as_copy    INTEGER NOT NULL DEFAULT 0,
    attempts   INTEGER NOT NULL DEFAULT 0,
    reason     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS print_jobs_runnable ON print_jobs (printer, state, seq);
"""


class QueueError(Exception):
    """Base of print-queue errors."""


class UnknownJobError(QueueError, LookupError):
    pass


class JobState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    PRINTED = "printed"
    FAILED = "failed"


@dataclass(frozen=True)
class PrintJob:
    id: str
    printer: str
    kind: str
    ref: str
    state: JobState
    as_copy: bool  # the next (or last) print is the marked copy
    attempts: int
    reason: str
    created_at: datetime
    updated_at: datetime
    data: bytes
    copy_data: bytes

    @property
    def payload(self) -> bytes:
        return self.copy_data if self.as_copy else self.data


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PrintQueue:
    def __init__(
        self,
        path: Path,
        *,
        max_attempts: int = 5,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.path = path
        self.max_attempts = max_attempts
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        # Every statement is a single autocommit statement: safe to share across threads.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self.recovered = self._recover()

    def close(self) -> None:
        self._db.close()

    def bound_to(self, db: sqlite3.Connection) -> PrintQueue:
        """This queue on another connection to the same file (to join its transaction)."""
        other = copy.copy(self)
        other._db = db
        return other

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat()

    def _recover(self) -> list[str]:
        """Jobs caught ``sending`` by a crash may have printed: they go again as copies."""
        rows = self._db.execute("SELECT id FROM print_jobs WHERE state = 'sending'").fetchall()
        ids = [r[0] for r in rows]
        if ids:
            self._db.execute(
                "UPDATE print_jobs SET state='queued', as_copy=1, reason='interrupted', "
                "updated_at=? WHERE state='sending'",
                (self._now(),),
            )
        return ids

    def submit(
        self,
        job_id: str,
        printer: str,
        data: bytes,
        copy_data: bytes,
        *,
        kind: str = "",
        ref: str = "",
    ) -> bool:
        """Add a job; returns False when ``job_id`` is already known (idempotent)."""
        now = self._now()
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO print_jobs (id, printer, kind, ref, data, copy_data, state, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
            (job_id, printer, kind, ref, data, copy_data, now, now),
        )
        return cursor.rowcount == 1

    def reprint(self, job_id: str) -> None:
        """A cashier asks for another print of a finished job: it goes out as the copy."""
        cursor = self._db.execute(
            "UPDATE print_jobs SET state='queued', as_copy=1, reason='reprint', updated_at=? "
            "WHERE id=? AND state IN ('printed', 'failed')",
            (self._now(), job_id),
        )
        if cursor.rowcount != 1:
            raise UnknownJobError(f"job {job_id!r} is not a finished job")

    def get(self, job_id: str) -> PrintJob:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM print_jobs WHERE id=?", (job_id,)
        ).fetchone()
        if row is None:
            raise UnknownJobError(f"no print job {job_id!r}")
        return _job(row)

    def jobs(self, *, printer: str | None = None, state: JobState | None = None) -> list[PrintJob]:
        sql = f"SELECT {_COLUMNS} FROM print_jobs WHERE 1=1"
        args: list[str] = []
        if printer is not None:
            sql += " AND printer=?"
            args.append(printer)
        if state is not None:
            sql += " AND state=?"
            args.append(state.value)
        return [_job(r) for r in self._db.execute(sql + " ORDER BY seq", args).fetchall()]

    def next_job(self, printer: str) -> PrintJob | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM print_jobs WHERE printer=? AND state='queued' "
            "ORDER BY seq LIMIT 1",
            (printer,),
        ).fetchone()
        return _job(row) if row else None

    def mark_sending(self, job_id: str) -> PrintJob:
        """Commit that bytes are about to leave: from here a crash means "maybe printed"."""
        self._db.execute(
            "UPDATE print_jobs SET state='sending', attempts=attempts+1, updated_at=? WHERE id=?",
            (self._now(), job_id),
        )
        return self.get(job_id)

    def mark_printed(self, job_id: str) -> PrintJob:
        self._db.execute(
            "UPDATE print_jobs SET state='printed', reason='', updated_at=? WHERE id=?",
            (self._now(), job_id),
        )
        return self.get(job_id)

    def requeue(self, job_id: str, *, maybe_printed: bool, reason: str) -> PrintJob:
        """Back to the queue; once anything may have printed, every later print is the copy.

        After ``max_attempts`` the job fails instead.
        """
        job = self.get(job_id)
        state = JobState.FAILED if job.attempts >= self.max_attempts else JobState.QUEUED
        self._db.execute(
            "UPDATE print_jobs SET state=?, as_copy=MAX(as_copy, ?), reason=?, updated_at=? "
            "WHERE id=?",
            (state.value, int(maybe_printed), reason, self._now(), job_id),
        )
        return self.get(job_id)


_COLUMNS = (
    "id, printer, kind, ref, state, as_copy, attempts, reason, created_at, updated_at, data, "
    "copy_data"
)


def _job(row: tuple[object, ...]) -> PrintJob:
    (
        job_id,
        printer,
        kind,
        ref,
        state,
        as_copy,
        attempts,
        reason,
        created,
        updated,
        data,
        copy_data,
    ) = row
    return PrintJob(
        id=str(job_id),
        printer=str(printer),
        kind=str(kind),
        ref=str(ref),
        state=JobState(str(state)),
        as_copy=bool(as_copy),
        attempts=int(str(attempts)),
        reason=str(reason),
        created_at=datetime.fromisoformat(str(created)),
        updated_at=datetime.fromisoformat(str(updated)),
        data=bytes(data),  # type: ignore[call-overload]
        copy_data=bytes(copy_data),  # type: ignore[call-overload]
    )
