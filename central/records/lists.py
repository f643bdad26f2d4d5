"""Lists a clerk pages through: customers, meters, routes, stations, a customer's contracts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.records import ContractRow, CustomerRow, MeterRow, RouteRow, StationRow
from central.records import customers as customer_records
from central.records.errors import Invalid
from central.records.listing import Page, PageQuery, page


def _route_id(session: Session, code: str) -> int:
    rid = session.scalar(select(RouteRow.id).where(RouteRow.code == code))
    if rid is None:
        raise Invalid("route_code", f"no route {code!r}")
    return rid


def customers(
    session: Session,
    query: PageQuery,
    *,
    q: str | None = None,
    utility: str | None = None,
    route_code: str | None = None,
    status: str | None = None,
    tariff_code: str | None = None,
) -> Page:
    c = CustomerRow
    stmt = select(c)
    if q:
        stmt = stmt.where(customer_records.matches(q))
    if utility:
        stmt = stmt.where(c.utility_code == utility)
    if route_code:
        stmt = stmt.where(c.route_id == _route_id(session, route_code))
    if status:
        stmt = stmt.where(c.status == status)
    if tariff_code:
        stmt = stmt.where(c.tariff_code == tariff_code)
    sorts = {"id": c.id, "account_no": c.account_no, "name": c.search_text, "persons": c.persons}
    return page(session, stmt, query, sorts=sorts, tie=c.id)


def meters(
    session: Session,
    query: PageQuery,
    *,
    customer_id: int | None = None,
    status: str | None = None,
    quantity: str | None = None,
    meter_id: str | None = None,
) -> Page:
    m = MeterRow
    stmt = select(m)
    if customer_id is not None:
        stmt = stmt.where(m.customer_id == customer_id)
    if status:
        stmt = stmt.where(m.status == status)
    if quantity:
        stmt = stmt.where(m.quantity == quantity)
    if meter_id:
        stmt = stmt.where(m.meter_id.startswith(meter_id, autoescape=True))
    sorts = {"id": m.id, "meter_id": m.meter_id, "installed_on": m.installed_on}
    return page(session, stmt, query, sorts=sorts, tie=m.id)


def routes(session: Session, query: PageQuery, *, station_code: str | None = None) -> Page:
    r = RouteRow
    stmt = select(r, StationRow.code).outerjoin(StationRow, StationRow.id == r.station_id)
    if station_code:
        stmt = stmt.where(StationRow.code == station_code)
    sorts = {"id": r.id, "code": r.code, "reading_day": r.reading_day}
    return page(session, stmt, query, sorts=sorts, tie=r.id)


def stations(session: Session, query: PageQuery) -> Page:
    s = StationRow
    return page(session, select(s), query, sorts={"id": s.id, "code": s.code}, tie=s.id)


def contracts(
    session: Session, customer_id: int, query: PageQuery, *, status: str | None = None
) -> Page:
    customer_records.get(session, customer_id)
    k = ContractRow
    stmt = select(k).where(k.customer_id == customer_id)
    if status:
        stmt = stmt.where(k.status == status)
    sorts = {"id": k.id, "number": k.number, "signed_on": k.signed_on}
    return page(session, stmt, query, sorts=sorts, tie=k.id)
