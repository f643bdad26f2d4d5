"""Manual readings from the reading app (value, photo, GPS, note) and operator corrections.

A manual reading is a row in ``readings`` with ``source = "manual"``; its photo, position and
note live in ``reading_notes``. A correction never overwrites the reading: it adds a row to
``reading_corrections`` (who, when, why, old and new value) and the latest one is the value
billing uses.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db.models.meterdata import ReadingCorrectionRow, ReadingNoteRow
from central.db.models.readings import ReadingRow
from central.records import filetypes, meters
from central.records.errors import Conflict, Invalid, NotFound
from central.records.schemas import CorrectionIn, ManualReadingIn

Clock = Callable[[], datetime]
MAX_PHOTO = 5 * 1024 * 1024
UNITS = {"energy_import": "kWh", "energy_export": "kWh", "volume": "m3"}


def record_manual(session: Session, data: ManualReadingIn, *, clock: Clock) -> ReadingRow:
    meter = meters.by_meter_id(session, data.meter_id)
    if meter is None:
        raise Invalid("meter_id", f"no meter {data.meter_id!r}")
    if data.ts.tzinfo is None:
        raise Invalid("ts", "needs a UTC offset")
    now = clock()
    if data.ts > now:
        raise Invalid("ts", f"{data.ts.isoformat()} is in the future")
    quantity = data.quantity or meter.quantity
    photo = None
    photo_type = ""
    if data.photo_base64:
        try:
            photo = base64.b64decode(data.photo_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Invalid("photo_base64", "is not base64") from exc
        if len(photo) > MAX_PHOTO:
            raise Invalid("photo_base64", f"photo over {MAX_PHOTO} bytes")
        photo_type = filetypes.checked(
            photo, data.photo_type, filetypes.PHOTOS, field="photo_base64"
        )
    exists = session.scalar(
        select(ReadingRow.id).where(
            ReadingRow.meter_id == data.meter_id,
            ReadingRow.quantity == quantity,
            ReadingRow.ts == data.ts,
        )
    )
    if exists is not None:
        raise Conflict(f"meter {data.meter_id!r} already has a reading at {data.ts.isoformat()}")
    row = ReadingRow(
        meter_id=data.meter_id,
        quantity=quantity,
        ts=data.ts.astimezone(UTC),
        value=data.value,
        unit=UNITS.get(quantity, ""),
        quality="",
        source="manual",
        received_at=now,
    )
    session.add(row)
    session.flush()
    session.add(
        ReadingNoteRow(
            reading_id=row.id,
            reader=data.reader,
            latitude=data.latitude,
            longitude=data.longitude,
            note=data.note,
            photo=photo,
            photo_type=photo_type if photo else "",
        )
    )
    session.flush()
    return row


def get(session: Session, reading_id: int) -> ReadingRow:
    row = session.get(ReadingRow, reading_id)
    if row is None:
        raise NotFound(f"no reading {reading_id}")
    return row


def note(session: Session, reading_id: int) -> ReadingNoteRow | None:
    return session.get(ReadingNoteRow, reading_id)


def correct(
    session: Session, reading_id: int, data: CorrectionIn, *, by: str, clock: Clock
) -> ReadingCorrectionRow:
    reading = get(session, reading_id)
    old = effective_values(session, [reading_id]).get(reading_id, reading.value)
    row = ReadingCorrectionRow(
        reading_id=reading_id,
        old_value=old,
        new_value=data.value,
        corrected_by=by,
        corrected_at=clock(),
        reason=data.reason,
    )
    session.add(row)
    session.flush()
    return row


def corrections(session: Session, reading_id: int) -> list[ReadingCorrectionRow]:
    get(session, reading_id)
    return list(
        session.scalars(
            select(ReadingCorrectionRow)
            .where(ReadingCorrectionRow.reading_id == reading_id)
            .order_by(ReadingCorrectionRow.id)
        )
    )


def effective_values(session: Session, reading_ids: Iterable[int]) -> dict[int, float]:
    """The latest corrected value of each corrected reading among ``reading_ids``."""
    ids = list(reading_ids)
    if not ids:
        return {}
    latest = (
        select(func.max(ReadingCorrectionRow.id))
        .where(ReadingCorrectionRow.reading_id.in_(ids))
        .group_by(ReadingCorrectionRow.reading_id)
    )
    rows = session.execute(
        select(ReadingCorrectionRow.reading_id, ReadingCorrectionRow.new_value).where(
            ReadingCorrectionRow.id.in_(latest)
        )
    )
    return {rid: value for rid, value in rows}


def of_meter(
    session: Session, meter_id: str, *, limit: int = 100
) -> list[tuple[ReadingRow, float]]:
    """The meter's latest readings, newest first, each with its effective value."""
    rows = list(
        session.scalars(
            select(ReadingRow)
            .where(ReadingRow.meter_id == meter_id)
            .order_by(ReadingRow.ts.desc())
            .limit(limit)
        )
    )
    fixed = effective_values(session, [r.id for r in rows])
    return [(r, fixed.get(r.id, r.value)) for r in rows]
