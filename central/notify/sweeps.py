"""Find what customers must be told and queue it once per recipient.

A sweep is idempotent (the outbox's unique key), so it can run on a timer, after a crash or
on several workers: a bill issued after a registration or subscription gets one notice per
chat registration and per subscription to ``bill``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, String, and_, cast, exists, func, literal, select
from sqlalchemy.orm import Session

from central.channels.texts import money, text
from central.db.models.billing import BillRow
from central.db.models.channels import ChatBindingRow
from central.db.models.notifications import NotificationRow, SubscriptionRow
from central.db.models.payments import PaymentRow
from central.db.models.records import CustomerRow, RouteRow
from central.db.models.service import OutageAreaRow, OutageRow
from central.notify.queue import Message, queue

Clock = Callable[[], datetime]
NOTICE_STATES = ("issued", "partially_paid", "paid")
PAID = ("completed", "partially_refunded", "refunded")  # money that was received


def _not_yet(channel: Any, address: Any, key: Any) -> ColumnElement[bool]:
    return ~exists().where(
        and_(
            NotificationRow.channel == channel,
            NotificationRow.address == address,
            NotificationRow.dedupe_key == key,
        )
    )


def sweep_bill_notices(
    session: Session,
    *,
    clock: Clock,
    chat_locales: dict[str, str] | None = None,
    lookback: timedelta = timedelta(days=45),
    batch: int = 20_000,
) -> int:
    """Queue the notice of every bill issued within ``lookback`` to every chat registration
    (``chat_locales``: platform → locale) and ``bill`` subscription of its account made before
    it was issued; returns how many were queued. Bills are taken in windows of ``batch`` ids,
    so a million bills cost one pass over the key."""
    since = clock() - lookback
    key = literal("bill:", String) + cast(BillRow.id, String)
    issued = and_(BillRow.state.in_(NOTICE_STATES), BillRow.issued_at >= since)
    lo, hi = session.execute(select(func.min(BillRow.id), func.max(BillRow.id)).where(issued)).one()
    if lo is None:
        return 0
    total = 0
    for first in range(lo, hi + 1, batch):  # id windows: each a range scan of the key
        window = and_(issued, BillRow.id.between(first, first + batch - 1))
        messages: list[Message] = []
        for platform, locale in (chat_locales or {}).items():
            rows = session.execute(
                select(ChatBindingRow.chat_user, *BILL_FIELDS)
                .join(BillRow, BillRow.customer_id == ChatBindingRow.customer_id)
                .where(
                    ChatBindingRow.platform == platform,
                    window,
                    BillRow.issued_at >= ChatBindingRow.created_at,
                    _not_yet(platform, ChatBindingRow.chat_user, key),
                )
            ).all()
            messages += [
                Message(platform, r.chat_user, f"bill:{r.id}", bill_notice(locale, r)) for r in rows
            ]
        subscribed = session.execute(
            select(
                SubscriptionRow.channel,
                SubscriptionRow.address,
                SubscriptionRow.locale,
                *BILL_FIELDS,
            )
            .join(BillRow, BillRow.customer_id == SubscriptionRow.customer_id)
            .where(
                SubscriptionRow.topics.contains("bill"),
                window,
                BillRow.issued_at >= SubscriptionRow.created_at,
                _not_yet(SubscriptionRow.channel, SubscriptionRow.address, key),
            )
        ).all()
        messages += [
            Message(
                r.channel,
                r.address,
                f"bill:{r.id}",
                bill_notice(r.locale, r),
                subject=text(r.locale, "bill_subject", account=r.account_no),
            )
            for r in subscribed
        ]
        total += queue(session, messages, clock=clock)
        session.flush()
    return total


class BillFacts(Protocol):
    """What a notice says of a bill (a ``BillRow`` or a row of :data:`BILL_FIELDS`)."""

    account_no: str
    period_start: date
    period_end: date
    consumption: float
    total: int
    currency: str


BILL_FIELDS = (
    BillRow.id,
    BillRow.account_no,
    BillRow.period_start,
    BillRow.period_end,
    BillRow.consumption,
    BillRow.total,
    BillRow.currency,
)


def bill_notice(locale: str, bill: BillFacts) -> str:
    return text(
        locale,
        "bill_notice",
        account=bill.account_no,
        start=bill.period_start,
        end=bill.period_end,
        consumption=f"{bill.consumption:g}",
        total=money(bill.total, bill.currency),
    )


def sweep_outage_notices(
    session: Session, *, clock: Clock, chat_locales: dict[str, str] | None = None
) -> int:
    """Queue a notice of every announced outage that has not ended to every chat registration
    and ``outage`` subscription of an account in its area, once per recipient."""
    now = clock()
    outages = list(
        session.scalars(
            select(OutageRow).where(
                OutageRow.cancelled.is_(False),
                OutageRow.restored_at.is_(None),
                OutageRow.expected_restore_at > now,
            )
        )
    )
    total = 0
    for outage in outages:
        affected = affected_customers(session, outage.id)
        key = f"outage:{outage.id}"
        messages: list[Message] = []
        for platform, locale in (chat_locales or {}).items():
            users = session.scalars(
                select(ChatBindingRow.chat_user)
                .where(
                    ChatBindingRow.platform == platform, ChatBindingRow.customer_id.in_(affected)
                )
                .distinct()
            )
            messages += [Message(platform, u, key, outage_notice(locale, outage)) for u in users]
        subs = session.scalars(
            select(SubscriptionRow).where(
                SubscriptionRow.customer_id.in_(affected),
                SubscriptionRow.topics.contains("outage"),
            )
        )
        messages += [
            Message(
                s.channel,
                s.address,
                key,
                outage_notice(s.locale, outage),
                subject=text(
                    s.locale, "outage_subject", kind=_kind(s.locale, outage), area=outage.area
                ),
            )
            for s in subs
        ]
        total += queue(session, _unique(messages), clock=clock)
    return total


def affected_customers(session: Session, outage_id: int) -> Select[tuple[int]]:
    """The ids of customers on a route or station the outage covers (a subquery)."""
    areas = select(OutageAreaRow).where(OutageAreaRow.outage_id == outage_id).subquery()
    on_route = select(CustomerRow.id).where(
        CustomerRow.route_id.in_(select(areas.c.route_id).where(areas.c.route_id.is_not(None)))
    )
    on_station = (
        select(CustomerRow.id)
        .join(RouteRow, RouteRow.id == CustomerRow.route_id)
        .where(
            RouteRow.station_id.in_(
                select(areas.c.station_id).where(areas.c.station_id.is_not(None))
            )
        )
    )
    return on_route.union(on_station)  # type: ignore[return-value]


def _unique(messages: list[Message]) -> list[Message]:
    seen: dict[tuple[str, str], Message] = {}
    for m in messages:
        seen.setdefault((m.channel, m.address), m)
    return list(seen.values())


def _kind(locale: str, outage: OutageRow) -> str:
    return text(locale, "outage_planned" if outage.kind == "planned" else "outage_unplanned")


def outage_notice(locale: str, outage: OutageRow) -> str:
    local = timedelta(hours=7 if locale == "vi" else 8)  # Vietnam, China
    fmt = "%H:%M %d/%m/%Y" if locale == "vi" else "%Y-%m-%d %H:%M"
    return text(
        locale,
        "outage_notice",
        kind=_kind(locale, outage),
        area=outage.area,
        start=(outage.starts_at + local).strftime(fmt),
        end=(outage.expected_restore_at + local).strftime(fmt),
        reason=outage.reason,
    )


def sweep_payment_notices(
    session: Session,
    *,
    clock: Clock,
    chat_locales: dict[str, str] | None = None,
    lookback: timedelta = timedelta(days=7),
) -> int:
    """Queue a receipt notice of every payment received within ``lookback`` to every chat
    registration and ``payment`` subscription of its account made before it; once each."""
    since = clock() - lookback
    found = session.execute(
        select(PaymentRow, CustomerRow.account_no)
        .join(CustomerRow, CustomerRow.id == PaymentRow.customer_id)
        .where(PaymentRow.received_at >= since, PaymentRow.status.in_(PAID))
    ).all()
    messages: list[Message] = []
    for payment, account in found:
        key = f"payment:{payment.id}"

        def say(locale: str, p: PaymentRow = payment, a: str = account) -> str:
            day = p.paid_at.date().strftime("%d/%m/%Y" if locale == "vi" else "%Y-%m-%d")
            return text(
                locale, "payment_notice", amount=money(p.amount, p.currency), account=a, day=day
            )

        for platform, locale in (chat_locales or {}).items():
            users = session.scalars(
                select(ChatBindingRow.chat_user).where(
                    ChatBindingRow.platform == platform,
                    ChatBindingRow.customer_id == payment.customer_id,
                    ChatBindingRow.created_at <= payment.received_at,
                )
            )
            messages += [Message(platform, u, key, say(locale)) for u in users]
        subs = session.scalars(
            select(SubscriptionRow).where(
                SubscriptionRow.customer_id == payment.customer_id,
                SubscriptionRow.topics.contains("payment"),
                SubscriptionRow.created_at <= payment.received_at,
            )
        )
        messages += [
            Message(
                s.channel,
                s.address,
                key,
                say(s.locale),
                subject=text(s.locale, "payment_subject", account=account),
            )
            for s in subs
        ]
    return queue(session, messages, clock=clock)
