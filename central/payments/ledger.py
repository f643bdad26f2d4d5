"""An account's ledger and the allocation of its payments to its bills.

The ledger is append-only: every fact (a bill charged, adjusted, cancelled; a payment; a
refund) is one entry whose unique ``ref`` names the fact, so posting it twice is impossible.
``settle`` brings an account up to date: it posts what billing did since, takes back money
put on bills that now owe less (a credit note, a cancellation), spreads the payments' unused
money over the open bills — the bill a payment names first, then the oldest — and sets the
bills' states (``issued`` → ``partially_paid`` → ``paid``). What no bill needs stays a credit
and goes to the next bill when it is issued.

Invariant: for every account, allocations + credit = payments − refunds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db.models.billing import BillAdjustmentRow, BillRow
from central.db.models.payments import AllocationRow, LedgerEntryRow, PaymentRow, RefundRow
from central.db.models.records import CustomerRow

Clock = Callable[[], datetime]
CHARGED = ("issued", "partially_paid", "paid")
COUNTING = ("completed", "partially_refunded", "refunded")  # payment states whose money counts


@dataclass(frozen=True)
class BillDue:
    bill_id: int
    due: int  # total with adjustments (0 once cancelled)
    allocated: int

    @property
    def open(self) -> int:
        return max(0, self.due - self.allocated)


@dataclass(frozen=True)
class AccountBalance:
    customer_id: int
    balance: int  # the ledger's sum: > 0 the customer owes, < 0 the utility owes
    owed: int  # what open bills still need
    credit: int  # money received that no bill needs


def lock_account(session: Session, customer_id: int) -> None:
    """Serialise settlements of one account (PostgreSQL row lock; SQLite writers are serial)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(CustomerRow.id).where(CustomerRow.id == customer_id).with_for_update()
        )


def post(
    session: Session,
    customer_id: int,
    kind: str,
    amount: int,
    ref: str,
    *,
    by: str,
    clock: Clock,
    bill_id: int | None = None,
    payment_id: int | None = None,
) -> None:
    session.add(
        LedgerEntryRow(
            customer_id=customer_id,
            kind=kind,
            amount=amount,
            ref=ref,
            bill_id=bill_id,
            payment_id=payment_id,
            created_by=by,
            created_at=clock(),
        )
    )


def _sync_bills(session: Session, customer_id: int, *, clock: Clock) -> list[BillRow]:
    """Post charges, adjustments and cancellations billing made since the last settlement."""
    bills = list(
        session.scalars(
            select(BillRow)
            .where(BillRow.customer_id == customer_id, BillRow.state != "draft")
            .order_by(BillRow.period_end, BillRow.id)
        )
    )
    posted = set(
        session.scalars(select(LedgerEntryRow.ref).where(LedgerEntryRow.customer_id == customer_id))
    )
    adjustments: dict[int, list[BillAdjustmentRow]] = defaultdict(list)
    ids = [b.id for b in bills]
    for adj in session.scalars(
        select(BillAdjustmentRow)
        .where(BillAdjustmentRow.bill_id.in_(ids))
        .order_by(BillAdjustmentRow.id)
    ):
        adjustments[adj.bill_id].append(adj)
    for bill in bills:
        charged = f"charge:{bill.id}" in posted
        if bill.state in CHARGED and not charged:
            post(
                session,
                customer_id,
                "charge",
                bill.total,
                f"charge:{bill.id}",
                by="billing",
                clock=clock,
                bill_id=bill.id,
            )
            charged = True
        if not charged:
            continue  # cancelled before it was ever issued
        for adj in adjustments[bill.id]:
            if f"adj:{adj.id}" not in posted:
                post(
                    session,
                    customer_id,
                    adj.kind,
                    adj.amount,
                    f"adj:{adj.id}",
                    by=adj.created_by,
                    clock=clock,
                    bill_id=bill.id,
                )
        if bill.state == "cancelled" and f"reversal:{bill.id}" not in posted:
            total = bill.total + sum(a.amount for a in adjustments[bill.id])
            post(
                session,
                customer_id,
                "reversal",
                -total,
                f"reversal:{bill.id}",
                by="billing",
                clock=clock,
                bill_id=bill.id,
            )
    session.flush()
    return [b for b in bills if b.state in (*CHARGED, "cancelled")]


def dues_of(session: Session, bills: list[BillRow]) -> dict[int, BillDue]:
    adj = (
        select(func.coalesce(func.sum(BillAdjustmentRow.amount), 0))
        .where(BillAdjustmentRow.bill_id == BillRow.id)
        .scalar_subquery()
    )
    alloc = (
        select(func.coalesce(func.sum(AllocationRow.amount), 0))
        .where(AllocationRow.bill_id == BillRow.id)
        .scalar_subquery()
    )
    sums = {
        i: (int(a or 0), int(p or 0))
        for i, a, p in session.execute(
            select(BillRow.id, adj, alloc).where(BillRow.id.in_([b.id for b in bills]))
        )
    }
    return {
        b.id: BillDue(
            b.id,
            0 if b.state == "cancelled" else b.total + sums[b.id][0],
            sums[b.id][1],
        )
        for b in bills
    }


def payment_credits(session: Session, customer_id: int) -> dict[int, int]:
    """Per counting payment of the account: money not on any bill (oldest payment first)."""
    alloc = (
        select(func.coalesce(func.sum(AllocationRow.amount), 0))
        .where(AllocationRow.payment_id == PaymentRow.id)
        .scalar_subquery()
    )
    refunds = (
        select(func.coalesce(func.sum(RefundRow.amount), 0))
        .where(RefundRow.payment_id == PaymentRow.id, RefundRow.status == "completed")
        .scalar_subquery()
    )
    rows = session.execute(
        select(PaymentRow.id, PaymentRow.amount - alloc - refunds)
        .where(PaymentRow.customer_id == customer_id, PaymentRow.status.in_(COUNTING))
        .order_by(PaymentRow.id)
    ).all()
    return {p: int(credit) for p, credit in rows}


def _allocate(session: Session, payment_id: int, bill_id: int, amount: int, now: datetime) -> None:
    session.add(
        AllocationRow(payment_id=payment_id, bill_id=bill_id, amount=amount, created_at=now)
    )


def take_back(
    session: Session, bill_id: int, amount: int, *, now: datetime, payment_id: int | None = None
) -> int:
    """Take up to ``amount`` off a bill's allocations, newest payment first (or only from
    ``payment_id``); returns how much was taken."""
    query = (
        select(AllocationRow.payment_id, func.sum(AllocationRow.amount))
        .where(AllocationRow.bill_id == bill_id)
        .group_by(AllocationRow.payment_id)
        .order_by(AllocationRow.payment_id.desc())
    )
    if payment_id is not None:
        query = query.where(AllocationRow.payment_id == payment_id)
    taken = 0
    for pid, on_bill in session.execute(query).all():
        part = min(int(on_bill or 0), amount - taken)
        if part > 0:
            _allocate(session, pid, bill_id, -part, now)
            taken += part
        if taken == amount:
            break
    return taken


def settle(session: Session, customer_id: int, *, clock: Clock) -> None:
    """Post, take back, allocate and set states for one account (call inside a transaction)."""
    lock_account(session, customer_id)
    now = clock()
    bills = _sync_bills(session, customer_id, clock=clock)
    dues = dues_of(session, bills)
    excess = [d for d in dues.values() if d.allocated > d.due]
    for d in excess:
        take_back(session, d.bill_id, d.allocated - d.due, now=now)
    if excess:
        session.flush()
        dues = dues_of(session, bills)
    remaining = {bid: d.open for bid, d in dues.items()}
    credits = payment_credits(session, customer_id)
    named = dict(
        session.execute(
            select(PaymentRow.id, PaymentRow.bill_id).where(
                PaymentRow.id.in_([p for p, c in credits.items() if c > 0])
            )
        ).all()
    )
    for pid, bill_id in named.items():  # the bill a payment names comes first
        if bill_id is not None and remaining.get(bill_id, 0) > 0:
            part = min(credits[pid], remaining[bill_id])
            _allocate(session, pid, bill_id, part, now)
            credits[pid] -= part
            remaining[bill_id] -= part
    order = [b.id for b in bills if b.state != "cancelled"]  # oldest period first
    for pid in sorted(credits):
        for bill_id in order:
            if credits[pid] <= 0:
                break
            part = min(credits[pid], remaining[bill_id])
            if part > 0:
                _allocate(session, pid, bill_id, part, now)
                credits[pid] -= part
                remaining[bill_id] -= part
    for bill in bills:
        if bill.state == "cancelled":
            continue
        due = dues[bill.id]
        state = "issued"
        if remaining[bill.id] == 0:
            state = "paid"
        elif remaining[bill.id] < due.due:
            state = "partially_paid"
        if state != bill.state:
            bill.state = state
            bill.paid_at = now if state == "paid" else None
    session.flush()


def balance(session: Session, customer_id: int) -> AccountBalance:
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntryRow.amount), 0)).where(
            LedgerEntryRow.customer_id == customer_id
        )
    )
    credit = sum(max(0, c) for c in payment_credits(session, customer_id).values())
    return AccountBalance(customer_id, int(total or 0), int(total or 0) + credit, credit)


def settle_many(session: Session, customer_ids: Iterable[int], *, clock: Clock) -> None:
    """Settle the accounts among ``customer_ids`` that hold a credit (after bills are issued)."""
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        paying = session.scalars(
            select(PaymentRow.customer_id)
            .where(PaymentRow.customer_id.in_(chunk), PaymentRow.status.in_(COUNTING))
            .distinct()
        )
        for cid in list(paying):
            if cid is not None:
                settle(session, cid, clock=clock)


@dataclass(frozen=True)
class Totals:
    """The whole book: ``allocated + credit == paid - refunded`` when it balances."""

    paid: int
    refunded: int
    allocated: int
    credit: int

    @property
    def balances(self) -> bool:
        return self.allocated + self.credit == self.paid - self.refunded


def totals(session: Session) -> Totals:
    def total(column: Any, *where: Any) -> int:
        query = select(func.coalesce(func.sum(column), 0)).where(*where)
        return int(session.scalar(query) or 0)

    cids = session.scalars(
        select(PaymentRow.customer_id).where(PaymentRow.customer_id.is_not(None)).distinct()
    ).all()
    credit = sum(sum(payment_credits(session, c).values()) for c in cids if c is not None)
    return Totals(
        paid=total(
            PaymentRow.amount, PaymentRow.status.in_(COUNTING), PaymentRow.customer_id.is_not(None)
        ),
        refunded=total(
            RefundRow.amount,
            RefundRow.status == "completed",
            RefundRow.payment_id.in_(
                select(PaymentRow.id).where(PaymentRow.customer_id.is_not(None))
            ),
        ),
        allocated=total(AllocationRow.amount),
        credit=credit,
    )
