"""Chat channels: who registered which account (``dk``), and inbound messages seen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base
from central.db.models.records import ID
from central.db.types import UtcDateTime


class ChatBindingRow(Base):
    """A chat user registered to a customer account (``dk``); many to many."""

    __tablename__ = "chat_bindings"
    __table_args__ = (
        UniqueConstraint("platform", "chat_user", "customer_id"),
        Index("ix_chat_bindings_customer", "customer_id"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))  # zalo | wechat
    chat_user: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ChatInboundRow(Base):
    """An inbound message already handled: platforms retry, so a message id is seen once."""

    __tablename__ = "chat_inbound"
    __table_args__ = (UniqueConstraint("platform", "msg_id"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    msg_id: Mapped[str] = mapped_column(String(64))
    chat_user: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(2000))
    reply: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
