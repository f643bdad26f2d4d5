"""Bills after a run: issue, pay, cancel, adjust or credit, cancel and rebill, and the history
a customer sees (the last 12 bills, consumption for a chart).

States: ``draft`` → ``issued`` → ``partially_paid`` → ``paid``; ``draft`` or ``issued`` →
``cancelled``. Payments move a bill on, through the ledger (:mod:`central.payments.ledger`);
a bill with money on it is never cancelled: a credit note takes money off it instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from central.billing import compute
from central.billing.chunk import VIETNAM, Chunk, RunInfo, bill_chunk
from central.db.models.billing import BillAdjustmentRow, BillRow
from central.payments import ledger
from central.tariffs.catalog import Catalog

Clock = Callable[[], datetime]


class BillingError(Exception):
    """Base of the bill operations' errors."""


class BillNotFound(BillingError):
    """No bill has this id."""


class BillStateError(BillingError):
    """The operation is not allowed in the bill's state."""


class RebillError(BillingError):
    """The account cannot be billed again for the period (names the reason)."""


def get(session: Session, bill_id: int) -> BillRow:
    row = session.get(BillRow, bill_id)
    if row is None:
        raise BillNotFound(f"no bill {bill_id}")
    return row


def _require(bill: BillRow, *states: str) -> None:
    if bill.state not in states:
        raise BillStateError(f"bill {bill.id} is {bill.state}; needs {' or '.join(states)}")


def issue(session: Session, bill_id: int, *, clock: Clock) -> BillRow:
    bill = get(session, bill_id)
    _require(bill, "draft")
    bill.state, bill.issued_at = "issued", clock()
    session.flush()
    ledger.settle_many(session, [bill.customer_id], clock=clock)  # a credit pays it at once
    return bill


def issue_run(session: Session, run_id: int, *, clock: Clock) -> int:
    """Issue every draft bill of a run; returns how many. Credits pay the new bills."""
    customers = session.scalars(
        select(BillRow.customer_id).where(BillRow.run_id == run_id, BillRow.state == "draft")
    ).all()
    result = session.execute(
        update(BillRow)
        .where(BillRow.run_id == run_id, BillRow.state == "draft")
        .values(state="issued", issued_at=clock())
    )
    session.flush()
    ledger.settle_many(session, customers, clock=clock)
    return int(result.rowcount)  # type: ignore[attr-defined]


def cancel(session: Session, bill_id: int, *, reason: str, by: str, clock: Clock) -> BillRow:
    bill = get(session, bill_id)
    _require(bill, "draft", "issued")
    bill.state, bill.cancelled_at = "cancelled", clock()
    bill.cancel_reason = f"{reason} (by {by})"[:300]
    session.flush()
    ledger.settle(session, bill.customer_id, clock=clock)
    return bill


def balance(session: Session, bill: BillRow) -> int:
    """The bill's total with its adjustments and credit notes."""
    extra = session.scalar(
        select(func.coalesce(func.sum(BillAdjustmentRow.amount), 0)).where(
            BillAdjustmentRow.bill_id == bill.id
        )
    )
    return bill.total + int(extra or 0)


def adjust(
    session: Session, bill_id: int, amount: int, *, kind: str, reason: str, by: str, clock: Clock
) -> BillAdjustmentRow:
    """An adjustment (either sign) or a credit note (negative, never below zero)."""
    bill = get(session, bill_id)
    _require(bill, "draft", "issued", "partially_paid", "paid")
    if kind not in ("adjustment", "credit_note"):
        raise BillStateError(f"unknown adjustment kind {kind!r}")
    if amount == 0:
        raise BillStateError("an adjustment of 0 changes nothing")
    if kind == "credit_note" and amount > 0:
        raise BillStateError("a credit note takes money off: its amount must be negative")
    if balance(session, bill) + amount < 0:
        raise BillStateError(f"bill {bill.id} would fall below zero")
    row = BillAdjustmentRow(
        bill_id=bill.id, kind=kind, amount=amount, reason=reason, created_by=by, created_at=clock()
    )
    session.add(row)
    session.flush()
    if bill.state != "draft":
        ledger.settle(session, bill.customer_id, clock=clock)
    return row


def adjustments(session: Session, bill_id: int) -> list[BillAdjustmentRow]:
    get(session, bill_id)
    return list(
        session.scalars(
            select(BillAdjustmentRow)
            .where(BillAdjustmentRow.bill_id == bill_id)
            .order_by(BillAdjustmentRow.id)
        )
    )


def rebill(
    session: Session,
    bill_id: int,
    catalog: Catalog,
    *,
    reason: str,
    by: str,
    clock: Clock,
    tz: tzinfo = VIETNAM,
) -> BillRow:
    """Bill the account of a bill again for the same period from today's readings
    (corrections and late readings included); a draft or issued bill is cancelled first, a
    cancelled one is the starting point as it is. The new bill points at the one it replaces,
    keeps an issued bill's state, and is a draft otherwise. Refused (nothing changes) when
    another bill for the period stands or the account cannot be billed."""
    old = get(session, bill_id)
    _require(old, "draft", "issued", "cancelled")
    state = "issued" if old.state == "issued" else "draft"
    if old.state != "cancelled":
        cancel(session, bill_id, reason=reason, by=by, clock=clock)
    run = RunInfo(0, old.period_start, old.period_end, None, None)
    pricer = compute.Pricer(catalog, old.period_start, old.period_end, size=64)
    drafts, skips = bill_chunk(
        session,
        run,
        Chunk(0, old.customer_id, old.customer_id, 1),
        pricer,
        tz=tz,
        now=clock(),
        end_read=False,
    )
    if not drafts:
        why = skips[0].reason if skips else "the account is not active"
        session.rollback()
        raise RebillError(f"bill {bill_id}: cannot bill again: {why}")
    d = drafts[0]
    now = clock()
    new = BillRow(
        run_id=None,
        customer_id=old.customer_id,
        account_no=old.account_no,
        tariff_code=d.account.tariff_code,
        period_start=old.period_start,
        period_end=old.period_end,
        meter_id=d.meter_id,
        previous_index=d.previous_index,
        current_index=d.current_index,
        consumption=float(d.consumption),
        estimated=d.estimated,
        flags=",".join(d.flags),
        lines_json=d.priced.lines_json,
        subtotal=d.priced.subtotal,
        tax_total=d.priced.tax_total,
        total=d.priced.total,
        currency=d.priced.currency,
        state=state,
        replaces_id=old.id,
        created_at=now,
        issued_at=now if state == "issued" else None,
        cancel_reason="",
    )
    session.add(new)
    session.flush()
    ledger.settle(session, new.customer_id, clock=clock)
    return new


def last_bills(session: Session, customer_id: int, *, n: int = 12) -> list[BillRow]:
    """The customer's latest bills that stand (not cancelled), newest first."""
    return list(
        session.scalars(
            select(BillRow)
            .where(BillRow.customer_id == customer_id, BillRow.state != "cancelled")
            .order_by(BillRow.period_end.desc(), BillRow.id.desc())
            .limit(n)
        )
    )


@dataclass(frozen=True)
class UsagePoint:
    period_start: date
    period_end: date
    consumption: float
    estimated: bool
    total: int


def consumption_history(session: Session, customer_id: int, *, n: int = 24) -> list[UsagePoint]:
    """Consumption per billed period, oldest first (for a chart)."""
    rows = reversed(last_bills(session, customer_id, n=n))
    return [
        UsagePoint(b.period_start, b.period_end, b.consumption, b.estimated, b.total) for b in rows
    ]
