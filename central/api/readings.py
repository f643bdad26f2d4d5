"""Readings of a meter, as stored, with the meter's own timestamps."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import select

from central.api.deps import SessionDep
from central.auth import allow
from central.auth.roles import READERS
from central.db.models.readings import ReadingRow

router = APIRouter(prefix="/api/v1", tags=["readings"])


class ReadingOut(BaseModel):
    meter_id: str
    quantity: str
    ts: datetime
    value: float
    unit: str
    quality: list[str]
    source: str
    gateway_id: str | None
    received_at: datetime


@router.get(
    "/meters/{meter_id}/readings", response_model=list[ReadingOut], dependencies=[allow(*READERS)]
)
def meter_readings(
    meter_id: str,
    session: SessionDep,
    quantity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[ReadingOut]:
    """Newest first. ``since``/``until`` bound the meter's timestamp."""
    stmt = select(ReadingRow).where(ReadingRow.meter_id == meter_id)
    if quantity:
        stmt = stmt.where(ReadingRow.quantity == quantity)
    if since:
        stmt = stmt.where(ReadingRow.ts >= since)
    if until:
        stmt = stmt.where(ReadingRow.ts < until)
    rows = session.scalars(
        stmt.order_by(ReadingRow.ts.desc(), ReadingRow.quantity).limit(limit)
    ).all()
    if (
        not rows
        and session.scalar(select(ReadingRow.id).where(ReadingRow.meter_id == meter_id).limit(1))
        is None
    ):
        raise HTTPException(404, f"no readings for meter {meter_id!r}")
    return [
        ReadingOut(
            meter_id=r.meter_id,
            quantity=r.quantity,
            ts=r.ts,
            value=r.value,
            unit=r.unit,
            quality=[q for q in r.quality.split(",") if q],
            source=r.source,
            gateway_id=r.gateway_id,
            received_at=r.received_at,
        )
        for r in rows
    ]
