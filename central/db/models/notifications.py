"""Notifications: customers' subscriptions, and the outbox of messages to deliver."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base
from central.db.models.billing import BillRow
from central.db.models.records import ID
from central.db.types import UtcDateTime

TOPICS = ("bill", "payment", "outage")


class SubscriptionRow(Base):
    """An account's subscription to notices by SMS, e-mail or chat (seed 002).

    ``topics`` is a comma-separated subset of :data:`TOPICS`. A chat registration (``dk``)
    subscribes its chat user to every topic without a row here.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("customer_id", "channel", "address"),
        Index("ix_subscriptions_customer", "customer_id"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # sms | email | zalo | wechat
    address: Mapped[str] = mapped_column(String(254))  # phone, e-mail, chat user id
    topics: Mapped[str] = mapped_column(String(64), default="bill,outage")
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(100), default="")


class NotificationRow(Base):
    """A message to deliver, kept until the channel accepts it.

    ``dedupe_key`` (``bill:<id>``, ``outage:<id>``, ``msg:<id>``) makes queueing idempotent:
    the unique key ``(channel, address, dedupe_key)`` holds a notice once per recipient.
    """

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("channel", "address", "dedupe_key"),
        Index("ix_notification_outbox_due", "state", "next_attempt_at"),
        # delivery reads a channel's pending messages in id order, a batch after the last
        Index("ix_notification_outbox_pending", "state", "channel", "id"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))
    dedupe_key: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


# Notices look for bills issued lately: index the bills table's issue time for them.
Index("ix_bills_issued_at", BillRow.issued_at)
