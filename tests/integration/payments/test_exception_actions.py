"""Reconciliation across day boundaries and the exceptions queue's actions on the ledger, on
SQLite and PostgreSQL: a transfer value-dated the next day still matches, a suggestion may pair
a line with the previous day's payment, ``bank_error`` reverses money credited in error,
``confirm`` settles a pairing at the provider's amount or assigns a suggested account — and
the book balances after each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.billing import BillRow
from central.db.models.payments import LedgerEntryRow, PaymentExceptionRow, PaymentRow
from central.payments import bank, exceptions, ledger
from central.payments.errors import Conflict
from central.payments.reconcile import LOCAL, reconcile_day, store_lines
from central.payments.statements import Line
from tests.support.payments_seed import add_bill, add_customer, clock

DAY = date(2025, 7, 18)  # a Friday


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    from datetime import UTC

    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - LOCAL


def _transfer(engine: Engine, ref: str, amount: int, content: str, at: datetime) -> int:
    with Session(engine) as s:
        row, _ = bank.book_transfer(
            s, ref=ref, amount=amount, content=content, paid_at=at, by="bank-hook", clock=clock
        )
        s.commit()
        return row.id


def _lines(engine: Engine, *lines: Line) -> None:
    with Session(engine) as s:
        store_lines(s, "bank", lines, import_id="t", now=clock())
        s.commit()


def _exceptions(engine: Engine, kind: str) -> list[PaymentExceptionRow]:
    with Session(engine) as s:
        return list(
            s.scalars(
                select(PaymentExceptionRow)
                .where(PaymentExceptionRow.kind == kind)
                .order_by(PaymentExceptionRow.id)
            )
        )


def _resolve(engine: Engine, exception_id: int, action: str) -> None:
    with Session(engine) as s:
        exceptions.resolve(s, exception_id, action, by="clerk", note="", clock=clock)
        s.commit()


def _bill(engine: Engine, bill_id: int) -> tuple[str, int]:
    with Session(engine) as s:
        b = s.get(BillRow, bill_id)
        assert b is not None
        return b.state, ledger.dues_of(s, [b])[bill_id].open


def _balanced(engine: Engine) -> bool:
    with Session(engine) as s:
        return ledger.totals(s).balances


def test_a_transfer_value_dated_the_next_business_day_still_matches(engine: Engine) -> None:
    cid = add_customer(engine, 1)
    add_bill(engine, cid, 100_000, month=6)
    # paid Friday 23:40; the bank's statement value-dates it Saturday
    _transfer(engine, "FT001", 100_000, "TT 01000000001", _local(DAY, 23, 40))
    _lines(engine, Line("FT001", DAY + timedelta(days=1), 100_000, "TT 01000000001"))
    friday = reconcile_day(engine, "bank", DAY, clock=clock)
    saturday = reconcile_day(engine, "bank", DAY + timedelta(days=1), clock=clock)
    assert (friday["matched"], friday["payments_without_line"]) == (0, 0)
    assert (saturday["matched"], saturday["lines_without_payment"]) == (1, 0)
    assert _exceptions(engine, "missing_line") == []


def test_a_suggestion_pairs_a_line_with_the_previous_days_payment(engine: Engine) -> None:
    cid = add_customer(engine, 1)
    add_bill(engine, cid, 50_000, month=6)
    _transfer(engine, "FT002", 50_000, "TT 01000000001", _local(DAY, 22))
    # the bank's file names the transfer with another reference, the next day
    _lines(engine, Line("FT002-X", DAY + timedelta(days=1), 50_000, "TT 01000000001"))
    saturday = reconcile_day(engine, "bank", DAY + timedelta(days=1), clock=clock)
    friday = reconcile_day(engine, "bank", DAY, clock=clock)
    assert (saturday["suggested"], saturday["lines_without_payment"]) == (1, 0)
    assert friday["payments_without_line"] == 0  # already paired with Saturday's line
    (ex,) = _exceptions(engine, "suggested")
    assert ex.line_id is not None
    assert ex.payment_id is not None
    # a line three days away is outside the window: both sides stand alone
    _transfer(engine, "FT003", 70_000, "TT 01000000001", _local(DAY, 9))
    _lines(engine, Line("FT003-X", DAY + timedelta(days=3), 70_000, ""))
    later = reconcile_day(engine, "bank", DAY + timedelta(days=3), clock=clock)
    again = reconcile_day(engine, "bank", DAY, clock=clock)
    assert (later["suggested"], later["lines_without_payment"]) == (0, 1)
    assert again["payments_without_line"] == 1


def test_bank_error_reverses_the_credit_and_reopens_the_bill(engine: Engine) -> None:
    cid = add_customer(engine, 1)
    bill = add_bill(engine, cid, 100_000, month=6)
    pid = _transfer(engine, "FT010", 100_000, "TT 01000000001", _local(DAY, 10))
    assert _bill(engine, bill) == ("paid", 0)
    reconcile_day(engine, "bank", DAY, clock=clock)  # the bank's file has no such credit
    (ex,) = _exceptions(engine, "missing_line")
    assert ex.payment_id == pid
    _resolve(engine, ex.id, "bank_error")
    assert _bill(engine, bill) == ("issued", 100_000)
    with Session(engine) as s:
        kinds = s.scalars(
            select(LedgerEntryRow.kind)
            .where(LedgerEntryRow.customer_id == cid)
            .order_by(LedgerEntryRow.id)
        ).all()
        assert sorted(kinds) == ["charge", "payment", "reversal"]
        assert ledger.balance(s, cid).owed == 100_000
        assert s.get(PaymentRow, pid).status == "refunded"  # type: ignore[union-attr]
    assert _balanced(engine)
    with pytest.raises(Conflict):
        _resolve(engine, ex.id, "bank_error")  # once


@pytest.mark.parametrize(("provider", "state", "open_", "credit"), [
    (99_000, "partially_paid", 1_000, 0),
    (101_000, "paid", 0, 1_000),
])  # fmt: skip
def test_confirm_settles_a_pairing_at_the_providers_amount(
    engine: Engine, provider: int, state: str, open_: int, credit: int
) -> None:
    cid = add_customer(engine, 1)
    bill = add_bill(engine, cid, 100_000, month=6)
    _transfer(engine, "FT020", 100_000, "TT 01000000001", _local(DAY, 10))
    _lines(engine, Line("FT020", DAY, provider, "TT 01000000001"))
    assert reconcile_day(engine, "bank", DAY, clock=clock)["suggested"] == 1
    (ex,) = _exceptions(engine, "suggested")
    _resolve(engine, ex.id, "confirm")
    assert _bill(engine, bill) == (state, open_)
    with Session(engine) as s:
        assert ledger.balance(s, cid).credit == credit
        assert ledger.balance(s, cid).balance == 100_000 - provider
        resolved = s.get(PaymentExceptionRow, ex.id)
        assert resolved is not None
        assert (resolved.status, resolved.action) == (
            "resolved",
            "confirm",
        )
    assert _balanced(engine)


def test_confirm_assigns_a_mistyped_transfer_to_the_suggested_account(engine: Engine) -> None:
    cid = add_customer(engine, 1)
    bill = add_bill(engine, cid, 80_000, month=6)
    pid = _transfer(engine, "FT030", 80_000, "TT 0100000001", _local(DAY, 10))  # a digit short
    (ex,) = _exceptions(engine, "suggested")
    assert ex.suggested_customer_id == cid
    _resolve(engine, ex.id, "confirm")
    assert _bill(engine, bill) == ("paid", 0)
    with Session(engine) as s:
        assert s.get(PaymentRow, pid).customer_id == cid  # type: ignore[union-attr]
    assert _balanced(engine)


def test_a_refunded_unassigned_transfer_leaves_the_book_balanced(engine: Engine) -> None:
    add_customer(engine, 1)
    pid = _transfer(engine, "FT040", 30_000, "no account here", _local(DAY, 10))
    (ex,) = _exceptions(engine, "unmatched_transfer")
    assert ex.payment_id == pid
    _resolve(engine, ex.id, "refund")
    assert _balanced(engine)
