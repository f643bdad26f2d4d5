"""VEE against the database: flag a meter's readings, and correct bills built on estimates
once actual readings are there (cancel and rebill)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from central.billing import bills
from central.db.models.billing import BillRow
from central.db.models.meterdata import ReadingFlagRow
from central.db.models.readings import ReadingRow
from central.db.models.records import MeterExchangeRow, MeterRow
from central.records.errors import NotFound
from central.records.readings import effective_values
from central.tariffs.catalog import Catalog
from central.vee.estimate import EstimateError, average_daily
from central.vee.rules import DEFAULT_LIMITS, Limits, MeterContext, Point, validate

Clock = Callable[[], datetime]
HISTORY = timedelta(days=400)


def _aware(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def validate_meter(
    session: Session, meter_id: str, *, clock: Clock, limits: Limits = DEFAULT_LIMITS
) -> list[ReadingFlagRow]:
    """Flag the meter's readings of the last 400 days; replaces the meter's earlier flags."""
    meter = session.scalar(select(MeterRow).where(MeterRow.meter_id == meter_id))
    if meter is None:
        raise NotFound(f"no meter {meter_id!r}")
    now = clock()
    rows = list(
        session.scalars(
            select(ReadingRow)
            .where(
                ReadingRow.meter_id == meter_id,
                ReadingRow.quantity == meter.quantity,
                ReadingRow.ts >= now - HISTORY,
            )
            .order_by(ReadingRow.ts)
        )
    )
    fixed = effective_values(session, [r.id for r in rows])
    points = [
        Point(_aware(r.ts), fixed.get(r.id, r.value), _aware(r.received_at), r.id) for r in rows
    ]
    exchanges: list[datetime] = []
    if meter.customer_id is not None:
        exchanges = [
            _aware(t)
            for t in session.scalars(
                select(MeterExchangeRow.exchanged_at).where(
                    MeterExchangeRow.customer_id == meter.customer_id
                )
            )
        ]
    ordered = sorted(points, key=lambda p: p.ts)
    good = [(p.ts, p.value) for p in ordered]
    try:
        daily: float | None = average_daily(good[:-1]) if len(good) > 2 else None
    except EstimateError:
        daily = None
    findings = validate(
        points, MeterContext(meter.digits, daily, tuple(exchanges)), now=now, limits=limits
    )
    session.execute(delete(ReadingFlagRow).where(ReadingFlagRow.meter_id == meter_id))
    out = [
        ReadingFlagRow(
            reading_id=ordered[f.index].reading_id,
            meter_id=meter_id,
            ts=ordered[f.index].ts,
            flag=f.flag,
            detail=f.detail[:300],
            created_at=now,
        )
        for f in findings
    ]
    session.add_all(out)
    session.flush()
    return out


def correct_estimates(
    session: Session, customer_id: int, catalog: Catalog, *, by: str, clock: Clock
) -> list[tuple[int, int]]:
    """Rebill the customer's estimated bills that actual readings can now replace; returns
    (cancelled bill, new bill) pairs. A bill that would still be estimated is left alone."""
    estimated = list(
        session.scalars(
            select(BillRow.id)
            .where(
                BillRow.customer_id == customer_id,
                BillRow.estimated.is_(True),
                BillRow.state.in_(("draft", "issued")),
            )
            .order_by(BillRow.period_end)
        )
    )
    done: list[tuple[int, int]] = []
    for bill_id in estimated:
        savepoint = session.begin_nested()
        new = bills.rebill(
            session,
            bill_id,
            catalog,
            reason="estimate replaced by an actual reading",
            by=by,
            clock=clock,
        )
        if new.estimated:
            savepoint.rollback()
            continue
        savepoint.commit()
        done.append((bill_id, new.id))
    return done
