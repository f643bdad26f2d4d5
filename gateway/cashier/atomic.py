"""One payment, one transaction: the ledger row, the bill's paid amount and the receipt's print
job commit together on one connection, or none of them does.

The bill cache, the payment ledger and the print queue live in one SQLite file
(``cashier.db``) so that a kill at any point of ``Cashier.pay`` leaves either a payment with
its receipt job and a bill shown as paid, or nothing: a bill is never collected twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gateway.cashier.cache import BillCache
from gateway.cashier.payments import PaymentLedger
from gateway.printing.queue import PrintQueue

BUSY_TIMEOUT_S = 30.0


class SplitStoresError(ValueError):
    """The stores are in different files: a payment could not commit at once."""


@dataclass(frozen=True)
class PayStores:
    cache: BillCache
    ledger: PaymentLedger
    queue: PrintQueue


class PayTransactions:
    def __init__(self, cache: BillCache, ledger: PaymentLedger, queue: PrintQueue) -> None:
        paths = {cache.path.resolve(), ledger.path.resolve(), queue.path.resolve()}
        if len(paths) != 1:
            raise SplitStoresError(
                "the bill cache, payment ledger and print queue must share one database file "
                f"so a payment commits at once; got {sorted(str(p) for p in paths)}"
            )
        self._db = sqlite3.connect(
            cache.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
        )
        self._db.execute("PRAGMA synchronous=FULL")
        self._stores = PayStores(
            cache.bound_to(self._db), ledger.bound_to(self._db), queue.bound_to(self._db)
        )

    @contextmanager
    def atomic(self) -> Iterator[PayStores]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception rolls everything back."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._stores
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
