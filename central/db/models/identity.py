"""Enrolled gateways: who may send data, with which receipt-signing key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base
from central.db.types import UtcDateTime


class EnrolledGateway(Base):
    """A gateway that central issued broker credentials to. Its field payments count only when
    their receipt signature verifies against ``receipt_key`` and it is not revoked."""

    __tablename__ = "enrolled_gateways"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    receipt_key: Mapped[str] = mapped_column(String(64))  # base64url raw Ed25519 public key
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
