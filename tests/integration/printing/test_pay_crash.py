"""kill -9 at every step of a payment: afterwards the payment, the bill's paid amount and the
receipt's print job are all there or none is, and a bill is never collected twice."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cashier.cache import BillCache
from gateway.cashier.service import CashierError
from tests.support.cashier_kit import BILL, PUSH, make_cashier

ROOT = Path(__file__).parents[3]
TOTAL = 387482


@pytest.mark.parametrize("step", ["record", "add_paid", "submit", "committed"])
def test_kill_during_pay_never_collects_twice(tmp_path: Path, step: str) -> None:
    cache = BillCache(tmp_path / "cashier.db")
    cache.apply(PUSH)
    cache.close()
    child = subprocess.run(
        [sys.executable, "-m", "tests.support.pay_child", str(tmp_path), step],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert child.stdout == b"paying\n", child.stderr.decode()
    assert child.returncode == -signal.SIGKILL

    cashier = make_cashier(tmp_path)
    try:
        payments = cashier.ledger.pending_payments()
        [bill] = cashier.lookup("PB14010012345")[:1]
        jobs = [j for j in cashier.queue.jobs() if j.kind == "receipt"]
        if step == "committed":
            assert len(payments) == 1
        # all or nothing: the payment, what the bill still owes and the receipt agree
        assert len(payments) == len(jobs)
        assert bill["owed"] == TOTAL - sum(p.amount for p in payments)
        if payments:
            with pytest.raises(CashierError) as refused:
                cashier.pay(BILL, TOTAL)
            assert refused.value.code == "already_paid"
        else:
            cashier.pay(BILL, TOTAL)  # the interrupted payment never happened: take it now
            with pytest.raises(CashierError):
                cashier.pay(BILL, TOTAL)
        assert len(cashier.ledger.pending_payments()) == 1
        assert cashier.lookup("PB14010012345")[0]["owed"] == 0
    finally:
        cashier.close()
        for store in (cashier.cache, cashier.ledger, cashier.queue):
            store.close()
