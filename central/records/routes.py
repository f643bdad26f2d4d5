"""Stations, routes and reading schedules (next reading date and the last ones)."""

from __future__ import annotations

import calendar
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.records import PremiseRow, ReadingScheduleRow, RouteRow, StationRow
from central.records.errors import Conflict, Invalid, NotFound
from central.records.schemas import PremiseIn, RouteIn, ScheduleOut, StationIn


def add_station(session: Session, data: StationIn) -> StationRow:
    if session.scalar(select(StationRow).where(StationRow.code == data.code)) is not None:
        raise Conflict(f"station {data.code!r} exists")
    row = StationRow(code=data.code, name=data.name)
    session.add(row)
    session.flush()
    return row


def add_route(session: Session, data: RouteIn) -> RouteRow:
    if by_code(session, data.code, missing_ok=True) is not None:
        raise Conflict(f"route {data.code!r} exists")
    station_id = None
    if data.station_code:
        station_id = session.scalar(
            select(StationRow.id).where(StationRow.code == data.station_code)
        )
        if station_id is None:
            raise Invalid("station_code", f"no station {data.station_code!r}")
    row = RouteRow(
        code=data.code,
        name=data.name,
        station_id=station_id,
        reading_day=data.reading_day,
        reader=data.reader,
    )
    session.add(row)
    session.flush()
    return row


def by_code(session: Session, code: str, *, missing_ok: bool = False) -> RouteRow | None:
    row = session.scalar(select(RouteRow).where(RouteRow.code == code))
    if row is None and not missing_ok:
        raise NotFound(f"no route {code!r}")
    return row


def reading_dates(reading_day: int, start: date, months: int) -> list[date]:
    """The route's reading dates: ``reading_day`` of each month from ``start``'s month."""
    out = []
    year, month = start.year, start.month
    for _ in range(months):
        last = calendar.monthrange(year, month)[1]
        out.append(date(year, month, min(reading_day, last)))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def plan(session: Session, route: RouteRow, start: date, months: int) -> list[ReadingScheduleRow]:
    """Add the route's planned readings for ``months`` months (existing dates are kept)."""
    have = set(
        session.scalars(
            select(ReadingScheduleRow.scheduled_on).where(ReadingScheduleRow.route_id == route.id)
        )
    )
    rows = [
        ReadingScheduleRow(route_id=route.id, scheduled_on=d)
        for d in reading_dates(route.reading_day, start, months)
        if d not in have
    ]
    session.add_all(rows)
    session.flush()
    return rows


def mark_read(session: Session, route: RouteRow, scheduled_on: date, read_on: date) -> None:
    row = session.scalar(
        select(ReadingScheduleRow).where(
            ReadingScheduleRow.route_id == route.id, ReadingScheduleRow.scheduled_on == scheduled_on
        )
    )
    if row is None:
        raise NotFound(f"route {route.code!r} has no reading planned on {scheduled_on}")
    row.read_on = read_on
    session.flush()


def schedule(session: Session, route: RouteRow, today: date, *, last: int = 3) -> ScheduleOut:
    """The next planned reading on or after ``today`` and the last ``last`` readings done."""
    rows = list(
        session.scalars(
            select(ReadingScheduleRow)
            .where(ReadingScheduleRow.route_id == route.id)
            .order_by(ReadingScheduleRow.scheduled_on)
        )
    )
    upcoming = [r.scheduled_on for r in rows if r.read_on is None and r.scheduled_on >= today]
    done = sorted((r.read_on for r in rows if r.read_on is not None), reverse=True)
    return ScheduleOut(
        route_code=route.code,
        next_reading=upcoming[0] if upcoming else None,
        last_readings=done[:last],
    )


def add_premise(session: Session, data: PremiseIn) -> PremiseRow:
    route_id = None
    if data.route_code:
        route = by_code(session, data.route_code, missing_ok=True)
        if route is None:
            raise Invalid("route_code", f"no route {data.route_code!r}")
        route_id = route.id
    row = PremiseRow(
        address=data.address, latitude=data.latitude, longitude=data.longitude, route_id=route_id
    )
    session.add(row)
    session.flush()
    return row
