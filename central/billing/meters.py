"""Which meters bill a period (pure): the meter in service during the period bills it; an
exchange inside the period bills the old meter to its final index and the new one from its
first; two meters in service at once, without an exchange between them, are refused loudly.

A meter's service starts at the exchange that put it in (else its ``installed_on`` day) and
ends at the exchange that took it out (else its ``replaced_on`` day when it is no longer
active).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from central.billing.compute import Chosen, Exchange, MeterSeries


@dataclass(frozen=True)
class MeterInfo:
    meter_id: str
    digits: int
    multiplier: int
    status: str
    installed_on: date | None
    replaced_on: date | None


def interval(
    meter: MeterInfo, exchanges: Sequence[Exchange], tz: tzinfo
) -> tuple[datetime | None, datetime | None]:
    start = end = None
    for e in exchanges:
        if start is None and e.new_meter_id == meter.meter_id:
            start = e.at
        if end is None and e.old_meter_id == meter.meter_id:
            end = e.at
    if start is None and meter.installed_on is not None:
        start = datetime.combine(meter.installed_on, time(0), tz)
    if end is None and meter.status != "active" and meter.replaced_on is not None:
        end = datetime.combine(meter.replaced_on, time(0), tz)
    return start, end


def choose(
    meters: Sequence[MeterInfo],
    series: Mapping[str, Sequence[tuple[datetime, float]]],
    exchanges: Sequence[Exchange],
    *,
    opening: datetime,
    closing: datetime,
    tz: tzinfo,
) -> Chosen:
    """The meters that bill the period ``[opening, closing)``."""

    def of(m: MeterInfo) -> MeterSeries:
        return MeterSeries(m.meter_id, m.digits, m.multiplier, series.get(m.meter_id, ()))

    if not exchanges and len(meters) == 1:  # most accounts: one meter, never exchanged
        only = meters[0]
        start, end = interval(only, exchanges, tz)
        if (start is None or start < closing) and (end is None or end > opening):
            return Chosen((of(only),))
        return Chosen(problem="no meter in service during the period")

    inside = [e for e in exchanges if opening <= e.at < closing]
    by_id = {m.meter_id: m for m in meters}
    if len(inside) > 1:
        return Chosen(problem=f"{len(inside)} meter exchanges in the period: bill by hand")
    if inside:
        e = inside[0]
        if e.old_meter_id not in by_id or e.new_meter_id not in by_id:
            missing = f"meter exchange {e.old_meter_id} → {e.new_meter_id}: a meter is missing"
            return Chosen(problem=missing)
        return Chosen((of(by_id[e.old_meter_id]), of(by_id[e.new_meter_id])), e)
    active = []
    for m in meters:
        start, end = interval(m, exchanges, tz)
        if (start is None or start < closing) and (end is None or end > opening):
            active.append(m)
    if not active:
        return Chosen(problem="no meter in service during the period" if meters else "no meter")
    if len(active) > 1:
        names = ", ".join(m.meter_id for m in active)
        return Chosen(
            problem=f"{len(active)} meters in service ({names}): record the exchange or end one"
        )
    return Chosen((of(active[0]),))
