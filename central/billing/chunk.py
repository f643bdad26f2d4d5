"""One chunk of a run, read and drafted: the chunk's customers, meters, readings (with their
corrections), exchanges, standing bills and dated changes in one read transaction, then a
draft or a skip (with its reason) per account."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from central.billing import compute
from central.billing.meters import MeterInfo, choose
from central.billing.scope import as_of, in_force, scope
from central.db.models.billing import BillingRunRow, BillRow
from central.db.models.meterdata import ReadingCorrectionRow
from central.db.models.readings import ReadingRow
from central.db.models.records import CustomerRow, MeterExchangeRow, MeterRow

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
LOOKBACK = timedelta(days=70)
LOOKAHEAD = timedelta(days=40)  # a later actual reading lets a missing one be prorated


@dataclass(frozen=True)
class RunInfo:
    """What a worker needs of a run, read once (ORM rows expire on every rollback)."""

    id: int
    period_start: date
    period_end: date
    route_id: int | None
    station_id: int | None

    @classmethod
    def of(cls, row: BillingRunRow) -> RunInfo:
        return cls(row.id, row.period_start, row.period_end, row.route_id, row.station_id)


@dataclass(frozen=True)
class Chunk:
    id: int
    first_customer: int
    last_customer: int
    accounts: int


def _aware(ts: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes."""
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def bounds(run: RunInfo, tz: tzinfo) -> tuple[datetime, datetime]:
    """Readings before the end of the first day open the period; before the end of the last
    day close it (in the utility's time zone)."""
    opening = datetime.combine(run.period_start + timedelta(days=1), time(0), tz).astimezone(UTC)
    closing = datetime.combine(run.period_end + timedelta(days=1), time(0), tz).astimezone(UTC)
    return opening, closing


def bill_chunk(
    session: Session,
    run: RunInfo,
    chunk: Chunk,
    pricer: compute.Pricer,
    *,
    tz: tzinfo,
    now: datetime,
    end_read: bool = True,
) -> tuple[list[compute.Draft], list[compute.Skip]]:
    """Read the chunk's customers, meters, readings and corrections; draft their bills.
    ``end_read`` ends the read transaction before pricing (a worker's loop)."""
    lo, hi = chunk.first_customer, chunk.last_customer
    opening, closing = bounds(run, tz)
    conn = session.connection()  # Core rows: no ORM loading for a hundred thousand rows
    accounts = [
        compute.Account(cid, acc, code, persons, households)
        for cid, acc, code, persons, households in conn.execute(
            select(
                CustomerRow.id,
                CustomerRow.account_no,
                CustomerRow.tariff_code,
                CustomerRow.persons,
                CustomerRow.households,
            )
            .where(
                CustomerRow.id.between(lo, hi),
                *scope(run.route_id, run.station_id, run.period_start),  # type: ignore[arg-type]
            )
            .order_by(CustomerRow.id)
        )
    ]
    changed = in_force(conn, lo, hi, run.period_start)
    if changed:
        accounts = [as_of(a, changed.get(a.customer_id, {})) for a in accounts]
    fixes = dict(
        conn.execute(
            select(ReadingCorrectionRow.reading_id, ReadingCorrectionRow.new_value)
            .join(ReadingRow, ReadingRow.id == ReadingCorrectionRow.reading_id)
            .join(MeterRow, MeterRow.meter_id == ReadingRow.meter_id)
            .where(MeterRow.customer_id.between(lo, hi))
            .order_by(ReadingCorrectionRow.id)
        ).all()
    )
    series: dict[int, dict[str, tuple[int, int, list[tuple[datetime, float]]]]] = defaultdict(dict)
    rows = conn.execute(
        select(
            MeterRow.customer_id,
            MeterRow.meter_id,
            MeterRow.digits,
            MeterRow.multiplier,
            ReadingRow.id,
            ReadingRow.ts,
            ReadingRow.value,
        )
        .join(
            ReadingRow,
            and_(
                ReadingRow.meter_id == MeterRow.meter_id, ReadingRow.quantity == MeterRow.quantity
            ),
        )
        .where(
            MeterRow.customer_id.between(lo, hi),
            ReadingRow.ts >= opening - LOOKBACK,
            ReadingRow.ts < closing + LOOKAHEAD,
        )
        .order_by(MeterRow.customer_id, MeterRow.meter_id, ReadingRow.ts)
    )
    for cid, mid, digits, mult, rid, ts, value in rows:
        assert cid is not None  # the query asks for customers in a range
        entry = series[cid].get(mid)
        if entry is None:
            entry = series[cid][mid] = (digits, mult, [])
        entry[2].append((ts, fixes.get(rid, value) if fixes else value))
    exchanges: dict[int, list[compute.Exchange]] = defaultdict(list)
    for cid, at, old, new, of, ni in conn.execute(
        select(
            MeterExchangeRow.customer_id,
            MeterExchangeRow.exchanged_at,
            MeterExchangeRow.old_meter_id,
            MeterExchangeRow.new_meter_id,
            MeterExchangeRow.old_final_value,
            MeterExchangeRow.new_initial_value,
        )
        .where(MeterExchangeRow.customer_id.between(lo, hi))
        .order_by(MeterExchangeRow.exchanged_at)
    ):
        exchanges[cid].append(compute.Exchange(_aware(at), old, new, of, ni))
    installed: dict[int, list[MeterInfo]] = defaultdict(list)
    for cid, mid, digits, mult, state, on, off in conn.execute(
        select(
            MeterRow.customer_id,
            MeterRow.meter_id,
            MeterRow.digits,
            MeterRow.multiplier,
            MeterRow.status,
            MeterRow.installed_on,
            MeterRow.replaced_on,
        )
        .where(MeterRow.customer_id.between(lo, hi))
        .order_by(MeterRow.id)
    ):
        assert cid is not None  # the query asks for customers in a range
        installed[cid].append(MeterInfo(mid, digits, mult, state, on, off))
    billed = {
        cid: f"already billed for {ps.isoformat()}–{pe.isoformat()} (bill {bid})"
        for cid, bid, ps, pe in conn.execute(
            select(BillRow.customer_id, BillRow.id, BillRow.period_start, BillRow.period_end).where(
                BillRow.customer_id.between(lo, hi),
                BillRow.state != "cancelled",
                BillRow.period_start < run.period_end,
                BillRow.period_end > run.period_start,
            )
        )
    }
    priors = _annual_priors(session, run, pricer, lo, hi)
    if end_read:
        session.rollback()  # end the read transaction: writers need not wait for the pricing
    drafts: list[compute.Draft] = []
    skips: list[compute.Skip] = []
    for account in accounts:
        cid = account.customer_id
        if cid in billed:
            skips.append(compute.Skip(account, billed[cid]))
            continue
        readings = {mid: rs for mid, (_d, _m, rs) in series.get(cid, {}).items()}
        chosen = choose(
            installed.get(cid, []),
            readings,
            exchanges.get(cid, []),
            opening=opening,
            closing=closing,
            tz=tz,
        )
        if chosen.problem:
            skips.append(compute.Skip(account, chosen.problem))
            continue
        meters = [m for m in chosen.meters if m.readings]
        out = compute.draft(
            account,
            meters,
            chosen.exchange,
            opening_bound=opening,
            closing_bound=closing,
            pricer=pricer,
            prior=priors.get(cid, 0),
        )
        (drafts if isinstance(out, compute.Draft) else skips).append(out)  # type: ignore[arg-type]
    return drafts, skips


def _annual_priors(
    session: Session, run: RunInfo, pricer: compute.Pricer, lo: int, hi: int
) -> dict[int, int]:
    """Consumption already billed this year, for tariffs whose blocks are annual."""
    annual = [
        code
        for code, t in pricer.catalog.items()
        if getattr(t.versions[-1].charge, "accumulate", "") == "annual"
    ]
    if not annual:
        return {}
    year_start = date(run.period_end.year, 1, 1)
    rows = session.execute(
        select(BillRow.customer_id, func.sum(BillRow.consumption))
        .join(CustomerRow, CustomerRow.id == BillRow.customer_id)
        .where(
            BillRow.customer_id.between(lo, hi),
            CustomerRow.tariff_code.in_(annual),
            BillRow.state != "cancelled",
            BillRow.period_end > year_start,
            BillRow.period_end <= run.period_start,
        )
        .group_by(BillRow.customer_id)
    )
    return {cid: int(total or 0) for cid, total in rows}
