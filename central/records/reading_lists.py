"""Readings as a clerk sees them: by period, route, reader or meter, with the reading app's
reader, GPS position and photo link; GeoJSON for a map; and the app's bulk sync.

Bulk sync is idempotent per reading: a reading's identity is (meter, quantity, time), so a
batch sent again answers ``duplicate`` for what is stored already (with its id), and only a
different value at the same identity is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.meterdata import ReadingNoteRow
from central.db.models.readings import ReadingRow
from central.db.models.records import CustomerRow, MeterRow, RouteRow
from central.records import readings as manual
from central.records.errors import Invalid, RecordsError
from central.records.listing import PageQuery, page
from central.records.schemas import ManualReadingIn

MAX_BATCH = 1000


@dataclass(frozen=True)
class ReadingView:
    id: int
    meter_id: str
    quantity: str
    ts: datetime
    value: float  # after corrections
    original_value: float
    source: str
    reader: str
    latitude: float | None
    longitude: float | None
    note: str
    has_photo: bool
    customer_id: int | None
    account_no: str | None
    route_code: str | None


def _days(start: date | None, end: date | None, tz: tzinfo) -> tuple[datetime | None, ...]:
    lo = datetime.combine(start, time(0), tz) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(0), tz) if end else None
    return lo, hi


def readings(
    session: Session,
    query: PageQuery,
    *,
    tz: tzinfo,
    start: date | None = None,
    end: date | None = None,
    route_code: str | None = None,
    reader: str | None = None,
    meter_id: str | None = None,
    source: str | None = None,
    located: bool = False,
) -> tuple[list[ReadingView], int]:
    """Readings from ``start`` to ``end`` (whole days in ``tz``), newest first by default."""
    r, n = ReadingRow, ReadingNoteRow
    stmt = (
        select(
            r,
            n.reader,
            n.latitude,
            n.longitude,
            n.note,
            n.photo_type,
            CustomerRow.id,
            CustomerRow.account_no,
            RouteRow.code,
        )
        .outerjoin(n, n.reading_id == r.id)
        .outerjoin(MeterRow, MeterRow.meter_id == r.meter_id)
        .outerjoin(CustomerRow, CustomerRow.id == MeterRow.customer_id)
        .outerjoin(RouteRow, RouteRow.id == CustomerRow.route_id)
    )
    lo, hi = _days(start, end, tz)
    if lo is not None:
        stmt = stmt.where(r.ts >= lo)
    if hi is not None:
        stmt = stmt.where(r.ts < hi)
    if route_code:
        stmt = stmt.where(RouteRow.code == route_code)
    if reader:
        stmt = stmt.where(n.reader == reader)
    if meter_id:
        stmt = stmt.where(r.meter_id == meter_id)
    if source:
        stmt = stmt.where(r.source == source)
    if located:
        stmt = stmt.where(n.latitude.is_not(None), n.longitude.is_not(None))
    found = page(
        session, stmt, query, sorts={"ts": r.ts, "id": r.id, "meter_id": r.meter_id}, tie=r.id
    )
    fixed = manual.effective_values(session, [row[0].id for row in found.rows])
    views = [
        ReadingView(
            rd.id,
            rd.meter_id,
            rd.quantity,
            rd.ts,
            fixed.get(rd.id, rd.value),
            rd.value,
            rd.source,
            rdr or "",
            lat,
            lon,
            note or "",
            bool(ptype),
            cid,
            acc,
            rcode,
        )
        for rd, rdr, lat, lon, note, ptype, cid, acc, rcode in found.rows
    ]
    return views, found.total


def geojson(views: Sequence[ReadingView], *, photo_url: Callable[[int], str]) -> dict[str, Any]:
    """A FeatureCollection of the located readings (RFC 7946: longitude first)."""
    features = [
        {
            "type": "Feature",
            "id": v.id,
            "geometry": {"type": "Point", "coordinates": [v.longitude, v.latitude]},
            "properties": {
                "meter_id": v.meter_id,
                "account_no": v.account_no,
                "route_code": v.route_code,
                "ts": v.ts.isoformat(),
                "value": v.value,
                "reader": v.reader,
                "note": v.note,
                "photo": photo_url(v.id) if v.has_photo else None,
            },
        }
        for v in views
        if v.latitude is not None and v.longitude is not None
    ]
    return {"type": "FeatureCollection", "features": features}


@dataclass(frozen=True)
class SyncResult:
    index: int
    status: str  # created | duplicate | error
    id: int | None = None
    field: str = ""
    reason: str = ""


def sync(
    session: Session, items: Sequence[dict[str, Any]], *, clock: Callable[[], datetime]
) -> list[SyncResult]:
    """Store a batch of the app's readings, each on its own (one bad reading costs only
    itself); commits."""
    if len(items) > MAX_BATCH:
        raise Invalid("readings", f"at most {MAX_BATCH} readings per request")
    out: list[SyncResult] = []
    for i, raw in enumerate(items):
        try:
            data = ManualReadingIn.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "?"
            out.append(SyncResult(i, "error", field=field, reason=err["msg"]))
            continue
        same = _stored(session, data)
        if same is not None:
            rid, value = same
            if value == data.value:
                out.append(SyncResult(i, "duplicate", rid))
            else:
                out.append(
                    SyncResult(i, "error", rid, "value", f"reading {rid} at this time is {value}")
                )
            continue
        savepoint = session.begin_nested()
        try:
            row = manual.record_manual(session, data, clock=clock)
        except RecordsError as exc:
            savepoint.rollback()
            field = getattr(exc, "field", "")
            out.append(SyncResult(i, "error", field=field, reason=getattr(exc, "reason", str(exc))))
            continue
        savepoint.commit()
        out.append(SyncResult(i, "created", row.id))
    session.commit()
    return out


def _stored(session: Session, data: ManualReadingIn) -> tuple[int, float] | None:
    meter = session.scalar(select(MeterRow.quantity).where(MeterRow.meter_id == data.meter_id))
    if meter is None or data.ts.tzinfo is None:
        return None
    row = session.execute(
        select(ReadingRow.id, ReadingRow.value).where(
            ReadingRow.meter_id == data.meter_id,
            ReadingRow.quantity == (data.quantity or meter),
            ReadingRow.ts == data.ts,
        )
    ).first()
    return None if row is None else (row[0], row[1])
