"""The local bill cache: a route's open bills as central last pushed them (SQLite)."""

from __future__ import annotations

import copy
import sqlite3
import threading
from pathlib import Path

from contract.bill_cache import BillCachePush, CachedBill, PayeeInfo, UtilityInfo

SCHEMA = """
CREATE TABLE IF NOT EXISTS cached_routes (
    route   TEXT PRIMARY KEY,
    utility TEXT NOT NULL,
    payee   TEXT
);
CREATE TABLE IF NOT EXISTS cached_bills (
    bill_id TEXT PRIMARY KEY,
    route   TEXT NOT NULL,
    account TEXT NOT NULL,
    bill    TEXT NOT NULL,
    paid    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS cached_bills_account ON cached_bills (account);
"""


class BillCacheError(Exception):
    pass


class UnknownBillError(BillCacheError, LookupError):
    pass


class BillCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()  # one connection, used by API threads and the daemon

    def close(self) -> None:
        self._db.close()

    def bound_to(self, db: sqlite3.Connection) -> BillCache:
        """This cache on another connection to the same file (to join its transaction)."""
        other = copy.copy(self)
        other._db, other._lock = db, threading.RLock()
        return other

    def apply(self, push: BillCachePush) -> int:
        """Store a push (one transaction); returns the number of bills stored.

        A bill already paid here keeps its paid amount: a push from before the payment
        reached central must not make it payable twice.
        """
        payee = push.payee.model_dump_json() if push.payee else None
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO cached_routes (route, utility, payee) VALUES (?, ?, ?) "
                "ON CONFLICT(route) DO UPDATE SET utility=excluded.utility, payee=excluded.payee",
                (push.route, push.utility.model_dump_json(), payee),
            )
            if push.replace:
                keep = [b.bill_id for b in push.bills]
                marks = ",".join("?" * len(keep)) or "''"
                self._db.execute(
                    "DELETE FROM cached_bills WHERE route=? AND paid=0 "
                    f"AND bill_id NOT IN ({marks})",
                    (push.route, *keep),
                )
            for bill in push.bills:
                self._db.execute(
                    "INSERT INTO cached_bills (bill_id, route, account, bill) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(bill_id) DO UPDATE SET route=excluded.route, "
                    "account=excluded.account, bill=excluded.bill",
                    (bill.bill_id, push.route, bill.account, bill.model_dump_json()),
                )
        return len(push.bills)

    def lookup(self, account: str) -> list[tuple[CachedBill, int]]:
        """Bills of ``account`` with the amount already paid here, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT bill, paid FROM cached_bills WHERE account=? ORDER BY bill_id", (account,)
            ).fetchall()
        return [(CachedBill.model_validate_json(r[0]), int(r[1])) for r in rows]

    def get(self, bill_id: str) -> tuple[CachedBill, int, UtilityInfo, PayeeInfo | None]:
        with self._lock:
            row = self._db.execute(
                "SELECT b.bill, b.paid, r.utility, r.payee FROM cached_bills b "
                "JOIN cached_routes r ON r.route=b.route WHERE b.bill_id=?",
                (bill_id,),
            ).fetchone()
        if row is None:
            raise UnknownBillError(f"bill {bill_id!r} is not in the local cache")
        payee = PayeeInfo.model_validate_json(row[3]) if row[3] else None
        return (
            CachedBill.model_validate_json(row[0]),
            int(row[1]),
            UtilityInfo.model_validate_json(row[2]),
            payee,
        )

    def add_paid(self, bill_id: str, amount: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE cached_bills SET paid=paid+? WHERE bill_id=?", (amount, bill_id)
            )
