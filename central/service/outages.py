"""Outages by area (seed 002): announced over stations and routes, restored or cancelled;
customers see those that affect their accounts' areas."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from central.db.models.records import CustomerRow, RouteRow, StationRow
from central.db.models.service import OutageAreaRow, OutageRow
from central.records.errors import Conflict, Invalid, NotFound
from central.service.schemas import OutageIn

Clock = Callable[[], datetime]


def announce(session: Session, data: OutageIn, *, by: str, clock: Clock) -> OutageRow:
    if data.expected_restore_at <= data.starts_at:
        raise Invalid("expected_restore_at", "restoration must come after the start")
    if not data.station_codes and not data.route_codes:
        raise Invalid("station_codes", "name at least one station or route")
    areas: list[OutageAreaRow] = []
    for code in data.station_codes:
        sid = session.scalar(select(StationRow.id).where(StationRow.code == code))
        if sid is None:
            raise Invalid("station_codes", f"no station {code!r}")
        areas.append(OutageAreaRow(station_id=sid))
    for code in data.route_codes:
        rid = session.scalar(select(RouteRow.id).where(RouteRow.code == code))
        if rid is None:
            raise Invalid("route_codes", f"no route {code!r}")
        areas.append(OutageAreaRow(route_id=rid))
    row = OutageRow(
        kind=data.kind,
        area=data.area,
        reason=data.reason,
        starts_at=data.starts_at,
        expected_restore_at=data.expected_restore_at,
        cancelled=False,
        created_at=clock(),
        created_by=by,
    )
    session.add(row)
    session.flush()
    for area in areas:
        area.outage_id = row.id
        session.add(area)
    session.flush()
    return row


def get(session: Session, outage_id: int) -> OutageRow:
    row = session.get(OutageRow, outage_id)
    if row is None:
        raise NotFound(f"no outage {outage_id}")
    return row


def restore(session: Session, outage_id: int, *, clock: Clock) -> OutageRow:
    row = get(session, outage_id)
    if row.restored_at is not None or row.cancelled:
        raise Conflict(f"outage {outage_id} has ended already")
    row.restored_at = clock()
    session.flush()
    return row


def cancel(session: Session, outage_id: int) -> OutageRow:
    row = get(session, outage_id)
    if row.restored_at is not None or row.cancelled:
        raise Conflict(f"outage {outage_id} has ended already")
    row.cancelled = True
    session.flush()
    return row


def current(session: Session, *, now: datetime) -> list[OutageRow]:
    """Outages not ended: announced ones still to come and those going on."""
    return list(
        session.scalars(
            select(OutageRow)
            .where(
                OutageRow.cancelled.is_(False),
                OutageRow.restored_at.is_(None),
                OutageRow.expected_restore_at > now,
            )
            .order_by(OutageRow.starts_at)
        )
    )


def affecting(session: Session, customer_ids: list[int], *, now: datetime) -> list[OutageRow]:
    """Current outages over the routes or stations of these customers."""
    if not customer_ids:
        return []
    routes = select(CustomerRow.route_id).where(CustomerRow.id.in_(customer_ids))
    stations = select(RouteRow.station_id).where(RouteRow.id.in_(routes))
    hit = select(OutageAreaRow.outage_id).where(
        or_(OutageAreaRow.route_id.in_(routes), OutageAreaRow.station_id.in_(stations))
    )
    return [o for o in current(session, now=now) if o.id in set(session.scalars(hit))]
