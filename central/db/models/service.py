"""Customer service: applications, fault reports, work orders and outages by area."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from central.db.base import Base
from central.db.models.records import ID
from central.db.types import UtcDateTime


class ApplicationRow(Base):
    """A customer's application (seed 002): new connection, capacity or name change, meter
    check; tracked by its number (seed 000's "theo dõi hồ sơ": type and number)."""

    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id"), nullable=True, index=True
    )
    applicant: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254), default="")
    address: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(String(2000), default="")
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FaultReportRow(Base):
    """A reported fault (seed 002) with where it is."""

    __tablename__ = "fault_reports"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id"), nullable=True, index=True
    )
    reporter: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(2000))
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WorkOrderRow(Base):
    """Field work (seed 003): from an application, a fault report, or staff; assigned, with
    states and the result entered after the work."""

    __tablename__ = "work_orders"
    __table_args__ = (Index("ix_work_orders_customer", "customer_id"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # application | fault | staff
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), nullable=True)
    fault_id: Mapped[int | None] = mapped_column(ForeignKey("fault_reports.id"), nullable=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    assignee: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    result: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class WorkOrderEventRow(Base):
    """Each change of a work order: who, when, to which state, with what note."""

    __tablename__ = "work_order_events"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(2000), default="")


class WorkOrderFileRow(Base):
    __tablename__ = "work_order_files"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    uploaded_by: Mapped[str] = mapped_column(String(100))


class OutageRow(Base):
    """A planned or unplanned outage over stations and routes, with its expected restoration."""

    __tablename__ = "outages"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # planned | unplanned
    area: Mapped[str] = mapped_column(String(200))  # what customers read: "Phường Bến Nghé"
    reason: Mapped[str] = mapped_column(String(1000), default="")
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expected_restore_at: Mapped[datetime] = mapped_column(UtcDateTime())
    restored_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cancelled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(100))


class OutageAreaRow(Base):
    """One station or route an outage covers; customers on it are affected."""

    __tablename__ = "outage_areas"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("outages.id", ondelete="CASCADE"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), nullable=True)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("routes.id"), nullable=True)
