"""Tariff versions added over REST, billing runs and their chunks, bills and adjustments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base
from central.db.models.records import ID


class TariffVersionRow(Base):
    """A tariff version added by an operator; merged over the shipped files by date."""

    __tablename__ = "tariff_versions"
    __table_args__ = (UniqueConstraint("tariff_code", "effective_from"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    tariff_code: Mapped[str] = mapped_column(String(64))
    effective_from: Mapped[date] = mapped_column(Date)
    body: Mapped[str] = mapped_column(Text)  # the version as JSON (schema.VersionIn)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BillingRunRow(Base):
    __tablename__ = "billing_runs"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("routes.id"), nullable=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|running|done
    accounts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class BillingChunkRow(Base):
    """A range of customer ids, claimed by one worker and finished in one transaction."""

    __tablename__ = "billing_chunks"
    __table_args__ = (Index("ix_billing_chunks_run_status", "run_id", "status"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("billing_runs.id", ondelete="CASCADE"))
    first_customer: Mapped[int] = mapped_column(BigInteger)
    last_customer: Mapped[int] = mapped_column(BigInteger)
    accounts: Mapped[int] = mapped_column(Integer)
    # pending|claimed|done|failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    bills: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    # why the chunk failed as a whole (status "failed"); the run still ends
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)


LIVE = "state <> 'cancelled'"


class BillRow(Base):
    __tablename__ = "bills"
    __table_args__ = (
        Index("ix_bills_customer_period", "customer_id", "period_end"),
        UniqueConstraint("run_id", "customer_id"),
        # a period is billed once per account: one bill that stands (rebilling cancels first)
        Index(
            "uq_bills_customer_period_live",
            "customer_id",
            "period_start",
            "period_end",
            unique=True,
            sqlite_where=text(LIVE),
            postgresql_where=text(LIVE),
        ),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_runs.id"), nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    account_no: Mapped[str] = mapped_column(String(32))
    tariff_code: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    meter_id: Mapped[str] = mapped_column(String(64), default="")
    previous_index: Mapped[float] = mapped_column(Float)
    current_index: Mapped[float] = mapped_column(Float)
    consumption: Mapped[float] = mapped_column(Float)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[str] = mapped_column(String(200), default="")
    lines_json: Mapped[str] = mapped_column(Text)  # charge and tax lines, JSON
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tax_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_reason: Mapped[str] = mapped_column(String(300), default="")


class BillAdjustmentRow(Base):
    """An operator's adjustment (positive) or credit note (negative) on a bill."""

    __tablename__ = "bill_adjustments"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # adjustment | credit_note
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BillingSkipRow(Base):
    """An account a run could not bill, and why (no reading, negative consumption, ...)."""

    __tablename__ = "billing_skips"
    __table_args__ = (UniqueConstraint("run_id", "customer_id"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("billing_runs.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
