"""The ledger on SQLite and PostgreSQL: allocation oldest first or to the named bill, partial
payment, overpayment kept as credit and applied when the next bill is issued, credit notes
and cancellations taking money back, refunds reopening bills, one payment per reference,
and the invariant allocations + credit = payments − refunds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from central.billing import bills
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.billing import BillRow
from central.db.models.payments import LedgerEntryRow, PaymentRow
from central.payments import book, ledger
from central.payments.errors import Conflict, Invalid
from tests.support.payments_seed import NOW, add_bill, add_customer, clock


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _pay(engine: Engine, cid: int, amount: int, ref: str, *, bill: int | None = None) -> int:
    with Session(engine) as s:
        row, _ = book.record(
            s,
            book.NewPayment(
                channel="counter",
                method="cash",
                provider_ref=ref,
                amount=amount,
                taken_by="cashier-1",
                paid_at=NOW,
                customer_id=cid,
                bill_id=bill,
            ),
            clock=clock,
        )
        s.commit()
        return row.id


def _states(engine: Engine, *ids: int) -> list[tuple[str, int]]:
    with Session(engine) as s:
        out = []
        for i in ids:
            b = s.get(BillRow, i)
            assert b is not None
            d = ledger.dues_of(s, [b])[i]
            out.append((b.state, d.open))
        return out


def _invariant(engine: Engine) -> None:
    """allocations + credits = payments − refunds, and the ledger's sum = owed − credit."""
    with Session(engine) as s:
        books = ledger.totals(s)
        assert books.balances, books
        cids = s.scalars(select(PaymentRow.customer_id).distinct()).all()
        for c in cids:
            if c is not None:
                bal = ledger.balance(s, c)
                assert bal.balance == bal.owed - bal.credit


def test_oldest_first_partial_then_paid(engine: Engine) -> None:
    cid = add_customer(engine, 1)
    old, new = add_bill(engine, cid, 100_000, month=5), add_bill(engine, cid, 80_000, month=6)
    _pay(engine, cid, 130_000, "r1")
    assert _states(engine, old, new) == [("paid", 0), ("partially_paid", 50_000)]
    _pay(engine, cid, 50_000, "r2")
    assert _states(engine, old, new) == [("paid", 0), ("paid", 0)]
    with Session(engine) as s:
        assert ledger.balance(s, cid) == ledger.AccountBalance(cid, 0, 0, 0)
        kinds = [e.kind for e in s.scalars(select(LedgerEntryRow).order_by(LedgerEntryRow.id))]
    assert kinds.count("charge") == 2
    assert kinds.count("payment") == 2
    _invariant(engine)


def test_named_bill_first(engine: Engine) -> None:
    cid = add_customer(engine, 2)
    old, new = add_bill(engine, cid, 100_000, month=5), add_bill(engine, cid, 80_000, month=6)
    _pay(engine, cid, 90_000, "r1", bill=new)
    assert _states(engine, old, new) == [("partially_paid", 90_000), ("paid", 0)]
    _invariant(engine)


def test_overpayment_is_credit_for_the_next_bill(engine: Engine) -> None:
    cid = add_customer(engine, 3)
    first = add_bill(engine, cid, 100_000, month=5)
    _pay(engine, cid, 150_000, "r1")
    with Session(engine) as s:
        assert ledger.balance(s, cid).credit == 50_000
        assert ledger.balance(s, cid).balance == -50_000
    nxt = add_bill(engine, cid, 70_000, month=6, state="draft")
    assert _states(engine, first) == [("paid", 0)]
    with Session(engine) as s:
        bills.issue(s, nxt, clock=clock)  # the credit pays it as it is issued
        s.commit()
    assert _states(engine, nxt) == [("partially_paid", 20_000)]
    _invariant(engine)


def test_credit_note_and_cancellation_give_money_back_as_credit(engine: Engine) -> None:
    cid = add_customer(engine, 4)
    a = add_bill(engine, cid, 100_000, month=5)
    _pay(engine, cid, 100_000, "r1")
    with Session(engine) as s:
        bills.adjust(s, a, -30_000, kind="credit_note", reason="leak", by="op", clock=clock)
        s.commit()
        assert ledger.balance(s, cid).credit == 30_000
    b = add_bill(engine, cid, 50_000, month=6)
    with Session(engine) as s:
        ledger.settle(s, cid, clock=clock)
        s.commit()
    assert _states(engine, a, b) == [("paid", 0), ("partially_paid", 20_000)]
    with Session(engine) as s:  # a bill never paid is cancelled: its charge is reversed
        c = add_bill(engine, cid, 10_000, month=7)
        ledger.settle(s, cid, clock=clock)
        s.commit()
    with Session(engine) as s:
        bills.cancel(s, c, reason="wrong meter", by="op", clock=clock)
        s.commit()
        assert ledger.balance(s, cid).balance == 20_000
        refs = s.scalars(select(LedgerEntryRow.ref).where(LedgerEntryRow.bill_id == c)).all()
    assert sorted(refs) == [f"charge:{c}", f"reversal:{c}"]
    _invariant(engine)


def test_one_payment_per_reference(engine: Engine) -> None:
    cid = add_customer(engine, 5)
    add_bill(engine, cid, 100_000, month=5)
    first = _pay(engine, cid, 60_000, "same")
    assert _pay(engine, cid, 60_000, "same") == first
    with pytest.raises(Conflict):
        _pay(engine, cid, 61_000, "same")
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(PaymentRow)) == 1
        with pytest.raises(Invalid):
            book.NewPayment(
                channel="counter",
                method="cash",
                provider_ref="x",
                amount=0,
                taken_by="c",
                paid_at=NOW,
            )
    _invariant(engine)


def test_refund_of_a_partly_allocated_payment(engine: Engine) -> None:
    cid = add_customer(engine, 6)
    a, b = add_bill(engine, cid, 100_000, month=5), add_bill(engine, cid, 100_000, month=6)
    pid = _pay(engine, cid, 150_000, "r1")  # a paid, b half paid
    with Session(engine) as s:
        book.refund(s, pid, 70_000, request_ref="k1", by="op", clock=clock)
        s.commit()
    assert _states(engine, a, b) == [("partially_paid", 20_000), ("issued", 100_000)]
    with Session(engine) as s:  # the same refund request again changes nothing
        book.refund(s, pid, 70_000, request_ref="k1", by="op", clock=clock)
        s.commit()
        with pytest.raises(Invalid):
            book.refund(s, pid, 80_001, request_ref="k2", by="op", clock=clock)
        assert book.get(s, pid).status == "partially_refunded"
        assert ledger.balance(s, cid).balance == 120_000
    _invariant(engine)
