"""Readings as they arrive from gateways (and, later, from people), one row per identity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base
from central.db.types import UtcDateTime


class ReadingRow(Base):
    """A reading's identity is (meter_id, quantity, ts): redelivery is a no-op."""

    __tablename__ = "readings"
    __table_args__ = (UniqueConstraint("meter_id", "quantity", "ts"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    meter_id: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    quality: Mapped[str] = mapped_column(String(128), default="")  # comma-separated flags
    source: Mapped[str] = mapped_column(String(16), default="gateway")  # gateway | manual
    gateway_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
