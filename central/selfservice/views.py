"""What a customer reads of one of its accounts: profile, bills, payments, the reading
schedule and consumption (seeds 000, 001, 002)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.billing import bills
from central.channels import queries
from central.db.models.billing import BillRow
from central.db.models.records import CustomerRow, MeterRow, RouteRow, StationRow
from central.records import routes
from central.selfservice.chart import Bar, svg


class ProfileOut(BaseModel):
    account_no: str
    name: str
    address: str
    category: str
    tariff_code: str
    persons: int
    route: str | None
    reading_day: int | None
    supplying_unit: str | None  # the station ("trạm") that supplies the premises
    meters: list[str]


class BillOut(BaseModel):
    id: int
    period_start: date
    period_end: date
    previous_index: float
    current_index: float
    consumption: float
    estimated: bool
    total: int
    amount: int  # with adjustments and credit notes
    currency: str
    state: str
    issued_at: datetime | None
    paid_at: datetime | None


class PaymentOut(BaseModel):
    day: date
    amount: int
    currency: str
    method: str


class ScheduleOut(BaseModel):
    next_reading: date | None
    last_readings: list[BillOut]


def profile(session: Session, customer: CustomerRow) -> ProfileOut:
    route = session.get(RouteRow, customer.route_id) if customer.route_id else None
    station = session.get(StationRow, route.station_id) if route and route.station_id else None
    meters = session.scalars(
        select(MeterRow.meter_id).where(
            MeterRow.customer_id == customer.id, MeterRow.status == "active"
        )
    )
    return ProfileOut(
        account_no=customer.account_no,
        name=customer.name,
        address=customer.address,
        category=customer.category,
        tariff_code=customer.tariff_code,
        persons=customer.persons,
        route=route.code if route else None,
        reading_day=route.reading_day if route else None,
        supplying_unit=station.name if station else None,
        meters=list(meters),
    )


def _out(session: Session, bill: BillRow) -> BillOut:
    return BillOut(
        id=bill.id,
        period_start=bill.period_start,
        period_end=bill.period_end,
        previous_index=bill.previous_index,
        current_index=bill.current_index,
        consumption=bill.consumption,
        estimated=bill.estimated,
        total=bill.total,
        amount=bills.balance(session, bill),
        currency=bill.currency,
        state=bill.state,
        issued_at=bill.issued_at,
        paid_at=bill.paid_at,
    )


def _shown(session: Session, customer_id: int, n: int) -> list[BillRow]:
    """Bills a customer may see: issued ones (never drafts), newest first."""
    return [b for b in bills.last_bills(session, customer_id, n=n + 24) if b.state != "draft"][:n]


def last_bills(session: Session, customer: CustomerRow, n: int = 12) -> list[BillOut]:
    return [_out(session, b) for b in _shown(session, customer.id, n)]


def bill_of_month(session: Session, customer: CustomerRow, month: date) -> BillOut | None:
    """The bill whose period ends in ``month`` (the month it is read and billed)."""
    for bill in _shown(session, customer.id, 120):
        if (bill.period_end.year, bill.period_end.month) == (month.year, month.month):
            return _out(session, bill)
    return None


def payments(
    session: Session,
    customer: CustomerRow,
    *,
    n: int = 5,
    start: date | None = None,
    end: date | None = None,
) -> list[PaymentOut]:
    found = queries.payments(session, customer.id, n=500 if start or end else n)
    if start or end:
        found = [
            p
            for p in found
            if (start is None or (p.day.year, p.day.month) >= (start.year, start.month))
            and (end is None or (p.day.year, p.day.month) <= (end.year, end.month))
        ]
    return [PaymentOut(**p.__dict__) for p in found]


def schedule(session: Session, customer: CustomerRow, *, today: date) -> ScheduleOut:
    route = session.get(RouteRow, customer.route_id) if customer.route_id else None
    plan = routes.schedule(session, route, today) if route else None
    return ScheduleOut(
        next_reading=plan.next_reading if plan else None,
        last_readings=last_bills(session, customer, 3),
    )


def consumption(session: Session, customer: CustomerRow, n: int = 12) -> list[Bar]:
    shown = list(reversed(_shown(session, customer.id, n)))
    return [Bar(b.period_end, b.consumption, b.estimated) for b in shown]


def chart(session: Session, customer: CustomerRow, *, unit: str, n: int = 12) -> str:
    title = f"Tiêu thụ {n} kỳ – {customer.account_no}"
    return svg(consumption(session, customer, n), unit=unit, title=title)
