"""One-time codes sent to the phone on record: registering, binding an account, a new
password. Only a hash of the code is kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base
from central.db.models.records import ID
from central.db.types import UtcDateTime


class OtpRow(Base):
    __tablename__ = "otp_challenges"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # what the client holds
    purpose: Mapped[str] = mapped_column(String(16))  # register | bind | reset
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
