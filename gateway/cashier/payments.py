"""Cash taken in the field: a durable ledger the uplink drains exactly once.

Each payment gets a receipt number from a durable counter and a ``payment_id`` of
``<gateway>-<receipt_no>`` — unique everywhere, so central deduplicates redeliveries.
The uplink calls :meth:`PaymentLedger.pending_payments`, publishes a
``contract.mqtt.FieldPaymentBatch``, and after the broker's PUBACK calls
:meth:`PaymentLedger.mark_sent`. A crash in between publishes the same payments again; central
ignores the repeat by ``payment_id``.
"""

from __future__ import annotations

import copy
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from contract.mqtt import FieldPayment, FieldPaymentBatch

SCHEMA = """
CREATE TABLE IF NOT EXISTS field_payments (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id TEXT NOT NULL UNIQUE,
    payment    TEXT NOT NULL,
    receipt_qr TEXT NOT NULL,
    sent       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


class PaymentLedger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()  # one connection, used by API threads and the uplink

    def close(self) -> None:
        self._db.close()

    def bound_to(self, db: sqlite3.Connection) -> PaymentLedger:
        """This ledger on another connection to the same file (to join its transaction)."""
        other = copy.copy(self)
        other._db, other._lock = db, threading.RLock()
        return other

    def next_number(self, name: str) -> int:
        """A durable counter: 1, 2, 3 … never repeated, even across crashes.

        Inside a transaction already open on this connection, the number is part of it.
        """
        with self._lock:
            if self._db.in_transaction:
                return self._bump(name)
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                return self._bump(name)

    def _bump(self, name: str) -> int:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET value=value+1",
            (name,),
        )
        row = self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
        return int(row[0])

    def record(self, payment: FieldPayment, receipt_qr: str) -> bool:
        """Store a payment; False when its ``payment_id`` is already recorded."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO field_payments (payment_id, payment, receipt_qr) "
                "VALUES (?, ?, ?)",
                (payment.payment_id, payment.model_dump_json(), receipt_qr),
            )
        return cursor.rowcount == 1

    def get(self, payment_id: str) -> tuple[FieldPayment, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT payment, receipt_qr FROM field_payments WHERE payment_id=?", (payment_id,)
            ).fetchone()
        return (FieldPayment.model_validate_json(row[0]), str(row[1])) if row else None

    def pending_payments(self, limit: int = 100) -> list[FieldPayment]:
        """Payments not yet acknowledged by the broker, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payment FROM field_payments WHERE sent=0 ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [FieldPayment.model_validate_json(r[0]) for r in rows]

    def mark_sent(self, payment_ids: Iterable[str]) -> int:
        ids = list(payment_ids)
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            count = 0
            for pid in ids:
                count += self._db.execute(
                    "UPDATE field_payments SET sent=1 WHERE payment_id=? AND sent=0", (pid,)
                ).rowcount
        return count

    def next_batch(self, gateway_id: str, limit: int = 100) -> FieldPaymentBatch | None:
        """The pending payments as one uplink message, with a durable sequence number."""
        payments = self.pending_payments(limit)
        if not payments:
            return None
        seq = self.next_number("payments_batch_seq")
        return FieldPaymentBatch(gateway_id=gateway_id, seq=seq, payments=tuple(payments))
