"""The durable outbox: readings wait here until the broker has acknowledged them.

SQLite in WAL mode with ``synchronous=FULL``: a committed batch survives a power cut, because
the WAL is fsync'd at every commit. (``NORMAL`` would keep the file consistent but could lose
the last commits on power loss; readings are written in batches, so the fsync per commit is
cheap.) A reading leaves the outbox only when :meth:`Outbox.acknowledge` is called for the
message that carried it, i.e. after the broker's PUBACK.

Messages are formed once and remembered (table ``inflight``): after a restart the same rows go
out again under the same sequence number, so central sees a gap in a gateway's sequence only
when data was really lost.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contract.mqtt import Reading

SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    created REAL NOT NULL DEFAULT (((julianday('now') - 2440587.5) * 86400.0))
);
CREATE TABLE IF NOT EXISTS inflight (
    seq INTEGER PRIMARY KEY,
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('next_seq', 0), ('acked', 0), ('written', 0);
"""


class OutboxError(Exception):
    """The outbox file is unusable (failed integrity check, unreadable)."""


@dataclass(frozen=True, slots=True)
class Message:
    """A batch of readings under one sequence number, ready to publish."""

    seq: int
    first_id: int
    last_id: int
    readings: tuple[Reading, ...]


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    oldest_age_s: float
    inflight: int
    written: int
    acked: int


class Outbox:
    """Thread-safe; one connection guarded by a lock (writes are batched, so contention is low)."""

    def __init__(self, path: Path, *, max_batch: int = 500) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        result = self._db.execute("PRAGMA quick_check").fetchone()[0]
        if result != "ok":
            raise OutboxError(f"outbox {path} failed its integrity check: {result}")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put(self, readings: Sequence[Reading]) -> None:
        """Store readings in one transaction (one fsync)."""
        if not readings:
            return
        rows = [(r.model_dump_json(),) for r in readings]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO readings(body) VALUES (?)", rows)
                self._db.execute(
                    "UPDATE meta SET value = value + ? WHERE key = 'written'", (len(rows),)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def pending_messages(self) -> list[Message]:
        """Messages formed earlier but not yet acknowledged (resent after a restart)."""
        with self._lock:
            spans = self._db.execute(
                "SELECT seq, first_id, last_id FROM inflight ORDER BY seq"
            ).fetchall()
            return [self._load(seq, first, last) for seq, first, last in spans]

    def next_message(self) -> Message | None:
        """Form the next message from readings not yet in flight, or None when empty."""
        with self._lock:
            row = self._db.execute("SELECT MAX(last_id) FROM inflight").fetchone()
            after = row[0] if row[0] is not None else 0
            ids = self._db.execute(
                "SELECT id FROM readings WHERE id > ? ORDER BY id LIMIT ?", (after, self.max_batch)
            ).fetchall()
            if not ids:
                return None
            first, last = ids[0][0], ids[-1][0]
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0]
                self._db.execute("UPDATE meta SET value = value + 1 WHERE key = 'next_seq'")
                self._db.execute(
                    "INSERT INTO inflight(seq, first_id, last_id) VALUES (?, ?, ?)",
                    (seq, first, last),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return self._load(seq, first, last)

    def acknowledge(self, seq: int) -> int:
        """The broker acknowledged message ``seq``: its readings leave. Returns how many."""
        with self._lock:
            span = self._db.execute(
                "SELECT first_id, last_id FROM inflight WHERE seq = ?", (seq,)
            ).fetchone()
            if span is None:
                return 0  # acknowledged before (a duplicate PUBACK after a resend)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "DELETE FROM readings WHERE id BETWEEN ? AND ?", (span[0], span[1])
                )
                self._db.execute("DELETE FROM inflight WHERE seq = ?", (seq,))
                self._db.execute(
                    "UPDATE meta SET value = value + ? WHERE key = 'acked'", (cur.rowcount,)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return cur.rowcount

    def stats(self) -> OutboxStats:
        with self._lock:
            depth, oldest = self._db.execute(
                "SELECT COUNT(*), (julianday('now') - 2440587.5) * 86400.0 - MIN(created)"
                " FROM readings"
            ).fetchone()
            inflight = self._db.execute("SELECT COUNT(*) FROM inflight").fetchone()[0]
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        return OutboxStats(
            depth=depth,
            oldest_age_s=float(oldest or 0.0),
            inflight=inflight,
            written=meta["written"],
            acked=meta["acked"],
        )

    def _load(self, seq: int, first: int, last: int) -> Message:
        rows = self._db.execute(
            "SELECT body FROM readings WHERE id BETWEEN ? AND ? ORDER BY id", (first, last)
        ).fetchall()
        readings = tuple(Reading.model_validate(json.loads(body)) for (body,) in rows)
        return Message(seq=seq, first_id=first, last_id=last, readings=readings)
