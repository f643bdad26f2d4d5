"""Queue chat messages: replies to a user, and a notice of each issued bill per registration.

Every queued message carries a ``dedupe_key``; the outbox's unique key on
``(platform, chat_user, dedupe_key)`` makes queueing idempotent, so a sweep that runs again
after a crash or on a second worker queues nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, exists, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from central.channels.service import Channel
from central.channels.texts import money, text
from central.db.models.billing import BillRow
from central.db.models.channels import ChatBindingRow, ChatOutboxRow
from central.db.models.records import CustomerRow

Clock = Callable[[], datetime]
NOTICE_STATES = ("issued", "partially_paid", "paid")


def queue(session: Session, rows: Iterable[dict[str, object]], *, clock: Clock) -> int:
    """Insert messages (platform, chat_user, dedupe_key, text), skipping those queued before."""
    now = clock()
    values = [
        {
            **r,
            "state": "pending",
            "attempts": 0,
            "last_error": "",
            "created_at": now,
            "next_attempt_at": now,
        }
        for r in rows
    ]
    if not values:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(ChatOutboxRow.__table__).on_conflict_do_nothing(  # type: ignore[arg-type]
        index_elements=["platform", "chat_user", "dedupe_key"]
    )
    result = session.connection().execute(stmt, values)
    return max(result.rowcount, 0)


def reply(
    session: Session, channel: Channel, chat_user: str, msg_id: str, body: str, *, clock: Clock
) -> None:
    queue(
        session,
        [
            {
                "platform": channel.platform,
                "chat_user": chat_user,
                "dedupe_key": f"msg:{msg_id}",
                "text": body,
            }
        ],
        clock=clock,
    )


def sweep_bill_notices(
    session: Session,
    channel: Channel,
    *,
    clock: Clock,
    lookback: timedelta = timedelta(days=45),
    batch: int = 5000,
) -> int:
    """Queue a notice of every bill issued within ``lookback``, and after the registration, for
    every chat registration of its account that has not had it yet; returns how many."""
    since = clock() - lookback
    key = literal("bill:", String) + cast(BillRow.id, String)
    not_yet = ~exists().where(
        and_(
            ChatOutboxRow.platform == ChatBindingRow.platform,
            ChatOutboxRow.chat_user == ChatBindingRow.chat_user,
            ChatOutboxRow.dedupe_key == key,
        )
    )
    total = 0
    while True:
        found = session.execute(
            select(ChatBindingRow.chat_user, BillRow)
            .join(BillRow, BillRow.customer_id == ChatBindingRow.customer_id)
            .join(CustomerRow, CustomerRow.id == BillRow.customer_id)
            .where(
                ChatBindingRow.platform == channel.platform,
                CustomerRow.utility_code == channel.utility_code,
                BillRow.state.in_(NOTICE_STATES),
                BillRow.issued_at >= since,
                BillRow.issued_at >= ChatBindingRow.created_at,  # news since registering
                not_yet,
            )
            .limit(batch)
        ).all()
        if not found:
            return total
        total += queue(
            session,
            [
                {
                    "platform": channel.platform,
                    "chat_user": user,
                    "dedupe_key": f"bill:{bill.id}",
                    "text": bill_notice(channel.locale, bill),
                }
                for user, bill in found
            ],
            clock=clock,
        )
        session.flush()


def bill_notice(locale: str, bill: BillRow) -> str:
    return text(
        locale,
        "bill_notice",
        account=bill.account_no,
        start=bill.period_start,
        end=bill.period_end,
        consumption=f"{bill.consumption:g}",
        total=money(bill.total, bill.currency),
    )
