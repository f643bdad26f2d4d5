"""``/api/v1`` lists for the back office: meters, routes, stations, a customer's contracts,
service history events, readings (with GeoJSON per route and period) and the reading app's
bulk sync. Every list pages with ``limit``/``offset``, sorts with ``sort`` (``-`` for
descending) and gives the number of matching rows in ``X-Total-Count``."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from central.api.deps import ClockDep, SessionDep
from central.auth import Role, allow
from central.billing.chunk import VIETNAM
from central.records import events as history
from central.records import lists, reading_lists
from central.records.listing import MAX_LIMIT, PageQuery
from central.records.schemas import MeterOut

router = APIRouter(tags=["lists"])
READERS = (Role.BILLING_CLERK, Role.OPERATOR, Role.AUDITOR, Role.CASHIER)
FIELD = (Role.BILLING_CLERK, Role.OPERATOR, Role.AUDITOR, Role.METER_READER)
TOTAL = "X-Total-Count"


class RouteOut(BaseModel):
    id: int
    code: str
    name: str
    station_code: str | None
    reading_day: int
    reader: str


class StationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str


class ContractOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    number: str
    signed_on: date | None
    status: str
    note: str


class EventOut(BaseModel):
    id: int
    customer_id: int
    account_no: str
    type: str
    at: datetime
    effective_from: date | None
    field: str
    old_value: str | None
    new_value: str | None
    by: str
    reason: str


class ReadingOut(BaseModel):
    id: int
    meter_id: str
    quantity: str
    ts: datetime
    value: float
    original_value: float
    source: str
    reader: str
    latitude: float | None
    longitude: float | None
    note: str
    photo: str | None  # a link to the photo, when there is one
    customer_id: int | None
    account_no: str | None
    route_code: str | None


class SyncOut(BaseModel):
    index: int
    status: str
    id: int | None
    field: str
    reason: str


@router.get("/meters", dependencies=[allow(*READERS)])
def list_meters(
    session: SessionDep,
    response: Response,
    customer_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    quantity: Annotated[str | None, Query(max_length=64)] = None,
    meter_id: Annotated[str | None, Query(max_length=64, description="prefix")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    sort: Annotated[str, Query(max_length=40)] = "id",
) -> list[MeterOut]:
    found = lists.meters(
        session,
        PageQuery(limit, offset, sort),
        customer_id=customer_id,
        status=status,
        quantity=quantity,
        meter_id=meter_id,
    )
    response.headers[TOTAL] = str(found.total)
    return [MeterOut.model_validate(m) for m in found.rows]


@router.get("/routes", dependencies=[allow(*FIELD, Role.CASHIER)])
def list_routes(
    session: SessionDep,
    response: Response,
    station_code: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    sort: Annotated[str, Query(max_length=40)] = "id",
) -> list[RouteOut]:
    found = lists.routes(session, PageQuery(limit, offset, sort), station_code=station_code)
    response.headers[TOTAL] = str(found.total)
    return [
        RouteOut(
            id=r.id,
            code=r.code,
            name=r.name,
            station_code=station,
            reading_day=r.reading_day,
            reader=r.reader,
        )
        for r, station in found.rows
    ]


@router.get("/stations", dependencies=[allow(*FIELD, Role.CASHIER)])
def list_stations(
    session: SessionDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    sort: Annotated[str, Query(max_length=40)] = "id",
) -> list[StationOut]:
    found = lists.stations(session, PageQuery(limit, offset, sort))
    response.headers[TOTAL] = str(found.total)
    return [StationOut.model_validate(s) for s in found.rows]


@router.get("/customers/{customer_id}/contracts", dependencies=[allow(*READERS)])
def list_contracts(
    session: SessionDep,
    response: Response,
    customer_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    sort: Annotated[str, Query(max_length=40)] = "id",
) -> list[ContractOut]:
    found = lists.contracts(session, customer_id, PageQuery(limit, offset, sort), status=status)
    response.headers[TOTAL] = str(found.total)
    return [ContractOut.model_validate(k) for k in found.rows]


def _events(
    session: SessionDep,
    response: Response,
    customer_id: int | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    query: PageQuery,
) -> list[EventOut]:
    found, total = history.events(
        session, query, customer_id=customer_id, event_type=event_type, since=since, until=until
    )
    response.headers[TOTAL] = str(total)
    return [EventOut(**e.__dict__) for e in found]


@router.get("/customers/{customer_id}/events", dependencies=[allow(*READERS)])
def customer_events(
    session: SessionDep,
    response: Response,
    customer_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    type: Annotated[str | None, Query(max_length=32)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    sort: Annotated[str, Query(max_length=40)] = "at",
) -> list[EventOut]:
    """A customer's service history: connection, installation, meter change, station
    transfer, suspension, information change."""
    query = PageQuery(limit, offset, sort)
    return _events(session, response, customer_id, type, since, until, query)


@router.get("/events", dependencies=[allow(*READERS)])
def all_events(
    session: SessionDep,
    response: Response,
    type: Annotated[str | None, Query(max_length=32)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    sort: Annotated[str, Query(max_length=40)] = "-at",
) -> list[EventOut]:
    """Service history across customers (newest first by default)."""
    query = PageQuery(limit, offset, sort)
    return _events(session, response, None, type, since, until, query)


def _reading_out(request: Request, v: reading_lists.ReadingView) -> ReadingOut:
    fields: dict[str, Any] = dict(v.__dict__)
    fields.pop("has_photo")
    photo = str(request.url_for("photo", reading_id=v.id).path) if v.has_photo else None
    return ReadingOut(**fields, photo=photo)


@router.get("/readings", dependencies=[allow(*FIELD)])
def list_readings(
    request: Request,
    session: SessionDep,
    response: Response,
    period_start: date | None = None,
    period_end: date | None = None,
    route_code: Annotated[str | None, Query(max_length=32)] = None,
    reader: Annotated[str | None, Query(max_length=100)] = None,
    meter_id: Annotated[str | None, Query(max_length=64)] = None,
    source: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    sort: Annotated[str, Query(max_length=40)] = "-ts",
) -> list[ReadingOut]:
    """Readings by period (whole days in Vietnam), route, reader, meter or source, with the
    reading app's reader, position and photo link."""
    views, total = reading_lists.readings(
        session,
        PageQuery(limit, offset, sort),
        tz=VIETNAM,
        start=period_start,
        end=period_end,
        route_code=route_code,
        reader=reader,
        meter_id=meter_id,
        source=source,
    )
    response.headers[TOTAL] = str(total)
    return [_reading_out(request, v) for v in views]


@router.get(
    "/routes/{code}/readings.geojson",
    dependencies=[allow(*FIELD)],
    responses={200: {"content": {"application/geo+json": {"schema": {"type": "object"}}}}},
)
def route_map(
    request: Request,
    session: SessionDep,
    code: str,
    period_start: date,
    period_end: date,
) -> Response:
    """The route's located readings of the period as a GeoJSON FeatureCollection."""
    views, _total = reading_lists.readings(
        session,
        PageQuery(MAX_LIMIT, 0, "ts"),
        tz=VIETNAM,
        start=period_start,
        end=period_end,
        route_code=code,
        located=True,
    )
    body = reading_lists.geojson(
        views, photo_url=lambda rid: str(request.url_for("photo", reading_id=rid).path)
    )
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/geo+json")


@router.post("/readings/sync", dependencies=[allow(Role.METER_READER, Role.OPERATOR)])
def sync_readings(
    session: SessionDep,
    clock: ClockDep,
    readings: Annotated[list[dict[str, Any]], Body(embed=True, max_length=1000)],
) -> list[SyncOut]:
    """The reading app's batch: each reading ``created``, ``duplicate`` (sent before, same
    value: its id) or ``error`` (field and reason); one bad reading costs only itself."""
    results = reading_lists.sync(session, readings, clock=clock)
    return [SyncOut(**r.__dict__) for r in results]
