"""The durable outbox: everything bound for central waits here until it is safe at central.

One SQLite file in WAL mode with ``synchronous=FULL`` (docs/durability.md says why): a committed
``put`` survives ``kill -9`` and a power cut. Items of several channels share the file —
``readings``, ``events``, ``payments``, ``replies`` — and leave it only when central confirmed
it stored the message that carried them (:meth:`Outbox.confirm`, on central's ``IngestAck``),
or, for a channel central does not confirm, on the broker's PUBACK (:meth:`Outbox.acknowledge`).
A message is formed once (table ``inflight``) and keeps its sequence number when it is resent
after a restart, so central sees a gap in a gateway's sequence only where data was lost.

Sequence numbers are reserved in blocks in a small side file (``<outbox>.seq``): if the outbox
file is ever found corrupt and replaced, numbering goes on above every number used before, and
central records the jump as a gap.

When the quota (items or bytes) is passed, readings not yet in flight go by the drop policy,
never payments, events or replies; every dropped reading is counted and reported upstream as an
``outbox_dropped`` event written in the same transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import structlog

from contract.mqtt import Event, Reading

log = structlog.get_logger(__name__)

OutChannel = Literal["readings", "events", "payments", "replies"]
CHANNELS: tuple[OutChannel, ...] = ("replies", "events", "payments", "readings")
INSTANT, OTHER, CUMULATIVE, KEEP = 0, 1, 2, 9  # drop classes: lowest goes first
CLASS_NAMES = {INSTANT: "instantaneous", OTHER: "other", CUMULATIVE: "cumulative"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    class INTEGER NOT NULL,
    body TEXT NOT NULL,
    created REAL NOT NULL,
    msg INTEGER
);
CREATE INDEX IF NOT EXISTS items_unsent ON items(channel, id) WHERE msg IS NULL;
CREATE INDEX IF NOT EXISTS items_msg ON items(msg) WHERE msg IS NOT NULL;
CREATE TABLE IF NOT EXISTS inflight (
    msg INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
COUNTERS = ("next_msg", "depth", "written", "acked", "dropped", *(f"depth:{c}" for c in CHANNELS))


class OutboxError(Exception):
    """The outbox cannot be used (the file cannot be opened, nor moved aside)."""


@dataclass(frozen=True, slots=True)
class Quota:
    max_items: int = 5_000_000
    max_bytes: int = 1024 * 1024 * 1024
    policy: Literal["priority", "oldest"] = "priority"
    cumulative_prefixes: tuple[str, ...] = ("energy", "volume", "counter", "register")
    instantaneous_prefixes: tuple[str, ...] = (
        "voltage",
        "current",
        "power",
        "frequency",
        "volume_flow",
        "flow",
    )

    def classify(self, quantity: str) -> int:
        """The longest matching prefix decides: ``volume_flow`` is a rate, not a register."""
        if self.policy == "oldest":
            return OTHER
        cumulative = max(
            (len(p) for p in self.cumulative_prefixes if quantity.startswith(p)), default=0
        )
        instant = max(
            (len(p) for p in self.instantaneous_prefixes if quantity.startswith(p)), default=0
        )
        if cumulative > instant:
            return CUMULATIVE
        if instant:
            return INSTANT
        return OTHER


@dataclass(frozen=True, slots=True)
class Message:
    """Items of one channel under one sequence number, ready to publish."""

    msg: int
    channel: OutChannel
    seq: int
    bodies: tuple[str, ...]

    def readings(self) -> tuple[Reading, ...]:
        return tuple(Reading.model_validate_json(b) for b in self.bodies)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    oldest_age_s: float
    inflight: int
    written: int
    acked: int
    dropped: int
    file_bytes: int
    by_channel: dict[str, int] = field(default_factory=dict)


class Outbox:
    """Thread-safe; one connection guarded by a lock (writes are batched, so contention is low)."""

    def __init__(
        self,
        path: Path,
        *,
        gateway_id: str,
        quota: Quota | None = None,
        seq_block: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.gateway_id = gateway_id
        self.quota = quota or Quota()
        self.seq_block = seq_block
        self.clock = clock
        self._lock = threading.Lock()
        self._seq_file = path.with_name(path.name + ".seq")
        self._reserved = self._read_reserved()
        self.recovered_from: str | None = None  # why the previous file was moved aside
        fresh = not path.exists()
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            self._db = self._replace(f"{type(exc).__name__}: {exc}")
            fresh = True
        if fresh:
            self._seed_sequences()
        if self.recovered_from:
            self._record_event(
                "outbox_corrupt",
                "error",
                {"reason": self.recovered_from, "moved_to": str(self._aside)},
            )

    # -- opening, integrity -----------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            result = db.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {result}")
            db.executescript(SCHEMA)
            db.executemany(
                "INSERT OR IGNORE INTO meta(key, value) VALUES (?, 0)", [(k,) for k in COUNTERS]
            )
        except BaseException:
            db.close()
            raise
        return db

    def _replace(self, reason: str) -> sqlite3.Connection:
        """Move the unusable file aside and start an empty one; never loop on a bad file."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self._aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        log.error("outbox failed its integrity check", path=str(self.path), reason=reason)
        try:
            for suffix in ("", "-wal", "-shm"):
                src = Path(str(self.path) + suffix)
                if src.exists():
                    src.rename(Path(str(self._aside) + suffix))
            self.recovered_from = reason
            return self._open()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise OutboxError(f"outbox {self.path} unusable and not replaceable: {exc}") from exc

    def _read_reserved(self) -> dict[str, int]:
        try:
            data = json.loads(self._seq_file.read_text())
            return {str(k): int(v) for k, v in data.items()}
        except (OSError, ValueError, AttributeError):
            return {}

    def _write_reserved(self) -> None:
        tmp = self._seq_file.with_name(self._seq_file.name + ".tmp")
        with tmp.open("w") as handle:
            json.dump(self._reserved, handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self._seq_file)
        dir_fd = os.open(self._seq_file.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _seed_sequences(self) -> None:
        """A new file continues above every sequence number reserved by its predecessors."""
        rows = [(f"seq:{c}", self._reserved.get(c, 0)) for c in CHANNELS]
        self._db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", rows)

    # -- writing ----------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put(
        self, readings: Sequence[Reading], *, checkpoint: tuple[str, str] | None = None
    ) -> None:
        """Store readings in one transaction (one fsync), with an optional source checkpoint
        committed atomically with them."""
        classify = self.quota.classify
        rows = [(classify(r.quantity), r.model_dump_json()) for r in readings]
        self._insert("readings", rows, checkpoint)

    def put_bodies(
        self,
        channel: OutChannel,
        bodies: Sequence[str],
        *,
        checkpoint: tuple[str, str] | None = None,
    ) -> None:
        """Store JSON bodies of a non-reading channel (never dropped by the quota)."""
        if channel == "readings":
            raise ValueError("readings go through put()")
        self._insert(channel, [(KEEP, b) for b in bodies], checkpoint)

    def _insert(
        self, channel: str, rows: list[tuple[int, str]], checkpoint: tuple[str, str] | None
    ) -> None:
        if not rows and checkpoint is None:
            return
        now = self.clock()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO items(channel, class, body, created) VALUES (?, ?, ?, ?)",
                    [(channel, cls, body, now) for cls, body in rows],
                )
                self._bump_depth(channel, len(rows))
                if channel == "readings":
                    self._bump("written", len(rows))
                if checkpoint is not None:
                    self._db.execute(
                        "INSERT OR REPLACE INTO checkpoints(key, value) VALUES (?, ?)", checkpoint
                    )
                self._enforce_quota()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def checkpoint(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM checkpoints WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _bump(self, key: str, n: int) -> None:
        self._db.execute("UPDATE meta SET value = value + ? WHERE key = ?", (n, key))

    def _bump_depth(self, channel: str, n: int) -> None:
        self._bump("depth", n)
        self._bump(f"depth:{channel}", n)

    def _meta(self, key: str) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    # -- quota --------------------------------------------------------------------------------
    def used_bytes(self) -> int:
        page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * page_size)

    def _enforce_quota(self) -> None:
        """Inside a write transaction: drop unsent readings by policy until 95 % remain."""
        depth = self._meta("depth")
        used = self.used_bytes()
        q = self.quota
        if depth <= q.max_items and used <= q.max_bytes:
            return
        per_item = max(used / max(depth, 1), 1.0)
        excess = max(depth - int(q.max_items * 0.95), int((used - q.max_bytes * 0.95) / per_item))
        dropped: dict[str, int] = {}
        span: list[float] = []
        for cls in (INSTANT, OTHER, CUMULATIVE):
            if excess <= 0:
                break
            ids = self._db.execute(
                "SELECT id, created FROM items WHERE channel = 'readings' AND msg IS NULL"
                " AND class = ? ORDER BY id LIMIT ?",
                (cls, excess),
            ).fetchall()
            if not ids:
                continue
            self._db.executemany("DELETE FROM items WHERE id = ?", [(i,) for i, _ in ids])
            dropped[CLASS_NAMES[cls]] = len(ids)
            span += [ids[0][1], ids[-1][1]]
            excess -= len(ids)
        total = sum(dropped.values())
        if not total:
            return  # only payments, events or messages in flight: those are never dropped
        self._bump_depth("readings", -total)
        self._bump("dropped", total)
        log.warning("outbox quota reached: readings dropped", dropped=dropped)
        detail = {
            "count": total,
            "by_class": dropped,
            "policy": q.policy,
            "oldest_created": datetime.fromtimestamp(min(span), UTC).isoformat(),
            "newest_created": datetime.fromtimestamp(max(span), UTC).isoformat(),
            "dropped_total": self._meta("dropped"),
        }
        self._record_event("outbox_dropped", "warning", detail, in_tx=True)

    def _record_event(
        self,
        kind: str,
        severity: Literal["info", "warning", "error"],
        detail: dict[str, object],
        *,
        in_tx: bool = False,
    ) -> None:
        event = Event(
            gateway_id=self.gateway_id,
            kind=kind,
            ts=datetime.now(UTC),
            subject=str(self.path.name),
            severity=severity,
            detail=detail,
        )
        row = ("events", KEEP, event.model_dump_json(), self.clock())
        sql = "INSERT INTO items(channel, class, body, created) VALUES (?, ?, ?, ?)"
        if in_tx:
            self._db.execute(sql, row)
            self._bump_depth("events", 1)
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(sql, row)
            self._bump_depth("events", 1)
            self._db.execute("COMMIT")

    # -- messages -----------------------------------------------------------------------------
    def pending_messages(self) -> list[Message]:
        """Messages formed earlier but not yet acknowledged (resent after a restart)."""
        with self._lock:
            spans = self._db.execute("SELECT msg, channel, seq FROM inflight ORDER BY msg")
            return [self._load(msg, ch, seq) for msg, ch, seq in spans.fetchall()]

    def next_message(
        self, channel: OutChannel, *, max_items: int, max_bytes: int
    ) -> Message | None:
        """Form the next message of ``channel`` from items not yet in flight (oldest first),
        at most ``max_items`` and about ``max_bytes`` of bodies (at least one item)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM items WHERE channel = ? AND msg IS NULL ORDER BY id LIMIT ?",
                (channel, max_items),
            ).fetchall()
            if not rows:
                return None
            size, cut = 0, 0
            for cut, (_, body) in enumerate(rows):
                size += len(body) + 1
                if size > max_bytes and cut > 0:
                    break
            else:
                cut = len(rows)
            rows = rows[:cut]
            self._db.execute("BEGIN IMMEDIATE")
            try:
                msg = self._meta("next_msg")
                seq = self._meta(f"seq:{channel}")
                self._bump("next_msg", 1)
                self._bump(f"seq:{channel}", 1)
                self._db.execute(
                    "UPDATE items SET msg = ? WHERE channel = ? AND msg IS NULL"
                    " AND id BETWEEN ? AND ?",
                    (msg, channel, rows[0][0], rows[-1][0]),
                )
                self._db.execute(
                    "INSERT INTO inflight(msg, channel, seq) VALUES (?, ?, ?)", (msg, channel, seq)
                )
                if seq + 1 > self._reserved.get(channel, 0):
                    self._reserved[channel] = seq + self.seq_block
                    self._write_reserved()  # before COMMIT: no number is used unreserved
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return Message(msg, channel, seq, tuple(body for _, body in rows))

    def acknowledge(self, msgs: Iterable[int]) -> int:
        """These messages are done with (the broker's PUBACK, for a channel central does not
        confirm): their items leave, in one transaction. Returns how many readings left (an
        unknown or repeated ``msg`` is ignored)."""
        wanted = list(msgs)
        if not wanted:
            return 0
        with self._lock:
            return self._remove(wanted)

    def confirm(self, channel: OutChannel, spans: Iterable[tuple[int, int]]) -> int:
        """Central stored the messages of ``channel`` numbered in the inclusive ``spans``: their
        items leave, in one transaction. Returns how many readings left; numbers of no message
        in flight (confirmed before, or never formed) are ignored."""
        with self._lock:
            msgs: list[int] = []
            for first, last in spans:
                msgs += [
                    m
                    for (m,) in self._db.execute(
                        "SELECT msg FROM inflight WHERE channel = ? AND seq BETWEEN ? AND ?",
                        (channel, first, last),
                    )
                ]
            return self._remove(msgs) if msgs else 0

    def in_flight(self, msg: int) -> bool:
        """True while the message has not left (neither confirmed nor acknowledged)."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM inflight WHERE msg = ?", (msg,)).fetchone()
        return row is not None

    def message(self, msg: int) -> Message | None:
        """A message in flight, as formed (None once it has left)."""
        with self._lock:
            row = self._db.execute(
                "SELECT channel, seq FROM inflight WHERE msg = ?", (msg,)
            ).fetchone()
            return None if row is None else self._load(msg, row[0], row[1])

    def _remove(self, msgs: list[int]) -> int:
        readings = 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for msg in msgs:
                row = self._db.execute(
                    "SELECT channel FROM inflight WHERE msg = ?", (msg,)
                ).fetchone()
                if row is None:
                    continue
                n = self._db.execute("DELETE FROM items WHERE msg = ?", (msg,)).rowcount
                self._db.execute("DELETE FROM inflight WHERE msg = ?", (msg,))
                self._bump_depth(row[0], -n)
                if row[0] == "readings":
                    readings += n
            self._bump("acked", readings)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return readings

    def stats(self) -> OutboxStats:
        with self._lock:
            row = self._db.execute("SELECT created FROM items ORDER BY id LIMIT 1").fetchone()
            inflight = self._db.execute("SELECT COUNT(*) FROM inflight").fetchone()[0]
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            used = self.used_bytes()
        by_channel: dict[str, int] = {c: int(meta[f"depth:{c}"]) for c in CHANNELS}
        return OutboxStats(
            depth=meta["depth"],
            oldest_age_s=max(self.clock() - row[0], 0.0) if row else 0.0,
            inflight=inflight,
            written=meta["written"],
            acked=meta["acked"],
            dropped=meta["dropped"],
            file_bytes=used,
            by_channel=by_channel,
        )

    def _load(self, msg: int, channel: OutChannel, seq: int) -> Message:
        rows = self._db.execute("SELECT body FROM items WHERE msg = ? ORDER BY id", (msg,))
        return Message(msg, channel, seq, tuple(body for (body,) in rows.fetchall()))
