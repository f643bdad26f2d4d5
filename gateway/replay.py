"""The gateway's memory of the commands it has admitted: a command id is kept until its expiry
has passed, so a captured command sent again — before or after a restart — is refused.

One small SQLite file (WAL, synchronous=FULL): an id is durable before its command runs.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """CREATE TABLE IF NOT EXISTS seen_commands (
    command_id TEXT PRIMARY KEY,
    expires REAL NOT NULL,
    seen_at REAL NOT NULL
)"""


class ReplayMemory:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(SCHEMA)

    def admit(self, command_id: str, expires: datetime, *, now: datetime) -> datetime | None:
        """Remember ``command_id``; returns ``None`` if it is new, else when it was first seen.

        Forgets the ids whose expiry has passed (their commands are refused as expired anyway).
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM seen_commands WHERE expires < ?", (now.timestamp(),))
                row = self._db.execute(
                    "SELECT seen_at FROM seen_commands WHERE command_id = ?", (command_id,)
                ).fetchone()
                if row is None:
                    self._db.execute(
                        "INSERT INTO seen_commands VALUES (?, ?, ?)",
                        (command_id, expires.timestamp(), now.timestamp()),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return None if row is None else datetime.fromtimestamp(row[0], UTC)

    def __len__(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM seen_commands").fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            self._db.close()
