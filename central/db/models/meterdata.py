"""What central adds to readings: notes from the reading app, corrections, VEE flags.

The ``readings`` table keeps what arrived; a correction is a row here, and the latest
correction of a reading is its value for billing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base
from central.db.models.records import ID


class ReadingNoteRow(Base):
    """Photo, GPS position, reader and note of a manual reading."""

    __tablename__ = "reading_notes"
    reading_id: Mapped[int] = mapped_column(
        ForeignKey("readings.id", ondelete="CASCADE"), primary_key=True
    )
    reader: Mapped[str] = mapped_column(String(100), default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    photo_type: Mapped[str] = mapped_column(String(64), default="")


class ReadingCorrectionRow(Base):
    """An operator's correction of a reading: the audit trail (who, when, why)."""

    __tablename__ = "reading_corrections"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    reading_id: Mapped[int] = mapped_column(ForeignKey("readings.id"), index=True)
    old_value: Mapped[float] = mapped_column(Float)
    new_value: Mapped[float] = mapped_column(Float)
    corrected_by: Mapped[str] = mapped_column(String(100))
    corrected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(300))


class ReadingFlagRow(Base):
    """A VEE finding on a reading (or on a meter's period when ``reading_id`` is null)."""

    __tablename__ = "reading_flags"
    __table_args__ = (Index("ix_reading_flags_meter", "meter_id", "ts"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    reading_id: Mapped[int | None] = mapped_column(ForeignKey("readings.id"), nullable=True)
    meter_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    flag: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
