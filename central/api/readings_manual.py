"""``/api/v1/readings``: manual readings from the reading app and operator corrections."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from central.api.deps import ClockDep, OperatorDep, SessionDep
from central.auth import Role, allow
from central.auth.roles import READERS
from central.records import readings
from central.records.errors import NotFound
from central.records.schemas import CorrectionIn, ManualReadingIn

router = APIRouter(prefix="/readings", tags=["readings"])


class ReadingOut(BaseModel):
    id: int
    meter_id: str
    quantity: str
    ts: datetime
    value: float  # the effective value (after corrections)
    original_value: float
    source: str
    corrected: bool


class CorrectionOut(BaseModel):
    old_value: float
    new_value: float
    corrected_by: str
    corrected_at: datetime
    reason: str


@router.post(
    "/manual",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Role.METER_READER, Role.OPERATOR)],
)
def add_manual(session: SessionDep, clock: ClockDep, body: ManualReadingIn) -> ReadingOut:
    row = readings.record_manual(session, body, clock=clock)
    session.commit()
    return ReadingOut(
        id=row.id,
        meter_id=row.meter_id,
        quantity=row.quantity,
        ts=row.ts,
        value=row.value,
        original_value=row.value,
        source=row.source,
        corrected=False,
    )


@router.get("/meter/{meter_id}", dependencies=[allow(*READERS)])
def meter_readings(session: SessionDep, meter_id: str) -> list[ReadingOut]:
    return [
        ReadingOut(
            id=r.id,
            meter_id=r.meter_id,
            quantity=r.quantity,
            ts=r.ts,
            value=v,
            original_value=r.value,
            source=r.source,
            corrected=v != r.value,
        )
        for r, v in readings.of_meter(session, meter_id)
    ]


@router.post(
    "/{reading_id}/corrections",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Role.OPERATOR, Role.BILLING_CLERK)],
)
def correct(
    session: SessionDep,
    clock: ClockDep,
    operator: OperatorDep,
    reading_id: int,
    body: CorrectionIn,
) -> CorrectionOut:
    row = readings.correct(session, reading_id, body, by=operator, clock=clock)
    session.commit()
    return CorrectionOut(
        old_value=row.old_value,
        new_value=row.new_value,
        corrected_by=row.corrected_by,
        corrected_at=row.corrected_at,
        reason=row.reason,
    )


@router.get("/{reading_id}/corrections", dependencies=[allow(*READERS)])
def corrections(session: SessionDep, reading_id: int) -> list[CorrectionOut]:
    return [
        CorrectionOut(
            old_value=c.old_value,
            new_value=c.new_value,
            corrected_by=c.corrected_by,
            corrected_at=c.corrected_at,
            reason=c.reason,
        )
        for c in readings.corrections(session, reading_id)
    ]


@router.get("/{reading_id}/photo", dependencies=[allow(*READERS)])
def photo(session: SessionDep, reading_id: int) -> Response:
    note = readings.note(session, reading_id)
    if note is None or note.photo is None:
        raise NotFound(f"reading {reading_id} has no photo")
    return Response(note.photo, media_type=note.photo_type or "application/octet-stream")
