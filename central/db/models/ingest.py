"""What ingest keeps besides readings: gateways and their sequence gaps, value conflicts,
quarantined payloads, gateway events, field payments and command replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base
from central.db.types import UtcDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class GatewayRow(Base):
    """One gateway: its retained status, when it was last heard from, and the highest sequence
    number seen per batched channel (the base of gap detection)."""

    __tablename__ = "gateways"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="unknown")  # online | offline
    status_ts: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    software: Mapped[str] = mapped_column(String(64), default="")
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    readings_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    payments_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    messages: Mapped[int] = mapped_column(BigInteger, default=0)


class SeqGap(Base):
    """Sequence numbers ``first_seq..last_seq`` of ``channel`` not (yet) received. A late
    message shrinks or splits its gap; a gap still open means data lost upstream."""

    __tablename__ = "seq_gaps"
    __table_args__ = (Index("ix_seq_gaps_gateway", "gateway_id", "channel", "first_seq"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    gateway_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReadingConflict(Base):
    """A reading arrived for an identity already stored, with a different value."""

    __tablename__ = "reading_conflicts"
    __table_args__ = (UniqueConstraint("meter_id", "quantity", "ts", "received_value"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    meter_id: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    stored_value: Mapped[float] = mapped_column(Float)
    received_value: Mapped[float] = mapped_column(Float)
    gateway_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class QuarantineRow(Base):
    """A payload ingest could not accept, kept as received with the reason."""

    __tablename__ = "ingest_quarantine"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(256))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GatewayEventRow(Base):
    __tablename__ = "gateway_events"
    __table_args__ = (
        UniqueConstraint("gateway_id", "kind", "ts", "subject"),
        Index("ix_gateway_events_gateway_ts", "gateway_id", "ts"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    gateway_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    subject: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)  # JSON
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FieldPaymentRow(Base):
    """Money a field cashier took, exactly once per ``payment_id`` (billing allocates it)."""

    __tablename__ = "field_payments"
    __table_args__ = (  # one payment per printed receipt (migration id01)
        Index("ux_field_payments_receipt", "gateway_id", "receipt_no", unique=True),
    )

    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(32))
    bill_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(16))
    receipt_no: Mapped[str] = mapped_column(String(64))
    cashier: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    signature: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CommandReplyRow(Base):
    __tablename__ = "command_replies"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    command_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
