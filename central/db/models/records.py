"""Customer records: utilities, stations and routes, premises, customers, meters, contracts.

A meter's ``meter_id`` is the same string gateways put in ``readings.meter_id``; its
``quantity`` names which register is billed (``energy_import``, ``volume``...).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class UtilityRow(Base):
    """A utility company (or branch) with its own account-number format."""

    __tablename__ = "utilities"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    account_pattern: Mapped[str] = mapped_column(String(200))  # a regular expression
    account_hint: Mapped[str] = mapped_column(String(200), default="")


class StationRow(Base):
    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class RouteRow(Base):
    """A reading route ("tuyến"): customers read together, on a day of the month."""

    __tablename__ = "routes"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), nullable=True)
    reading_day: Mapped[int] = mapped_column(Integer, default=1)  # day of the month
    reader: Mapped[str] = mapped_column(String(100), default="")


class ReadingScheduleRow(Base):
    """One planned reading of a route; ``read_on`` is set when it was done."""

    __tablename__ = "reading_schedules"
    __table_args__ = (UniqueConstraint("route_id", "scheduled_on"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"))
    scheduled_on: Mapped[date] = mapped_column(Date)
    read_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class PremiseRow(Base):
    __tablename__ = "premises"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("routes.id"), nullable=True)


class CustomerRow(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("utility_code", "account_no"),
        Index("ix_customers_route", "route_id"),
        Index("ix_customers_phone", "phone"),
    )
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    utility_code: Mapped[str] = mapped_column(ForeignKey("utilities.code"))
    account_no: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    category: Mapped[str] = mapped_column(String(64), default="residential")
    tariff_code: Mapped[str] = mapped_column(String(64))
    persons: Mapped[int] = mapped_column(Integer, default=0)  # registered persons
    households: Mapped[int] = mapped_column(Integer, default=1)
    industry: Mapped[str] = mapped_column(String(100), default="")
    payment_method: Mapped[str] = mapped_column(String(32), default="cash")
    status: Mapped[str] = mapped_column(String(16), default="active")
    premise_id: Mapped[int | None] = mapped_column(ForeignKey("premises.id"), nullable=True)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("routes.id"), nullable=True)
    # name, address, account and phone folded (lower case, no accents, đ → d) for search
    search_text: Mapped[str] = mapped_column(String(700), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CustomerChangeRow(Base):
    """History of a customer: one row per changed field (or event), who, when and why."""

    __tablename__ = "customer_changes"
    __table_args__ = (Index("ix_customer_changes_field_effective", "field", "effective_from"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300), default="")
    # from when a billed value (persons, households, tariff, category, route) holds; billing
    # a period uses the value in force on its first day
    effective_from: Mapped[date | None] = mapped_column(Date, nullable=True)


class MeterRow(Base):
    __tablename__ = "meters"
    __table_args__ = (Index("ix_meters_customer", "customer_id"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    meter_id: Mapped[str] = mapped_column(String(64), unique=True)  # = readings.meter_id
    quantity: Mapped[str] = mapped_column(String(64), default="energy_import")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    brand: Mapped[str] = mapped_column(String(64), default="")
    serial: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[str] = mapped_column(String(32), default="")
    digits: Mapped[int] = mapped_column(Integer, default=6)
    multiplier: Mapped[int] = mapped_column(Integer, default=1)
    installed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    calibrated_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    replaced_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    installer: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")


class MeterExchangeRow(Base):
    """A meter replaced at a customer: the old meter's last index and the new one's first."""

    __tablename__ = "meter_exchanges"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    old_meter_id: Mapped[str] = mapped_column(String(64))
    new_meter_id: Mapped[str] = mapped_column(String(64))
    exchanged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    old_final_value: Mapped[float] = mapped_column(Float)
    new_initial_value: Mapped[float] = mapped_column(Float, default=0.0)
    installer: Mapped[str] = mapped_column(String(100), default="")


class ContractRow(Base):
    __tablename__ = "contracts"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    note: Mapped[str] = mapped_column(Text, default="")


class ContractFileRow(Base):
    __tablename__ = "contract_files"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
