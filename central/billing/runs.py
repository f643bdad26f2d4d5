"""Billing runs: a period and a scope (all, a route or a station) cut into chunks of customer
ids that workers claim, bill and finish in one transaction each.

A worker claims a chunk with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer
and needs no lock); a chunk's bills, skips and its ``done`` mark commit together, so a crash
loses at most the chunks in flight, and they are claimed again once their claim is older than
the lease. Any number of workers (processes, hosts) can work on one run.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from central.billing import compute
from central.billing.meters import MeterInfo, choose
from central.billing.writer import write_bills
from central.db.models.billing import BillingChunkRow, BillingRunRow, BillingSkipRow, BillRow
from central.db.models.meterdata import ReadingCorrectionRow
from central.db.models.readings import ReadingRow
from central.db.models.records import (
    CustomerChangeRow,
    CustomerRow,
    MeterExchangeRow,
    MeterRow,
    RouteRow,
)
from central.records.errors import Invalid, NotFound
from central.tariffs.catalog import Catalog

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
LOOKBACK = timedelta(days=70)
LOOKAHEAD = timedelta(days=40)  # a later actual reading lets a missing one be prorated
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)  # periods a run accepts
MAX_PERIOD = timedelta(days=366)


FINAL = ("done", "failed")  # chunk states that end a run
log = structlog.get_logger(__name__)


class RunError(Exception):
    """A billing run cannot be created or worked on."""


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


@dataclass(frozen=True)
class Progress:
    run_id: int
    status: str
    chunks: int
    chunks_done: int
    accounts: int
    accounts_done: int
    bills: int
    skipped: int
    failed: int = 0
    errors: tuple[str, ...] = ()


def _on_routes_then(routes: Select[int], day: date) -> ColumnElement[bool]:
    """Customers on one of ``routes`` on ``day``: on it now with no route change effective
    after that day, or moved off it by such a change (the first one's old value). Written so
    the route index finds the first kind and the few changed accounts the second."""
    cc = CustomerChangeRow
    later = (cc.field == "route_id", cc.effective_from > day)
    changed = exists().where(cc.customer_id == CustomerRow.id, *later).correlate(CustomerRow)
    earlier = aliased(CustomerChangeRow)
    first_of_them = ~exists().where(
        earlier.customer_id == cc.customer_id,
        earlier.field == "route_id",
        earlier.effective_from > day,
        or_(
            earlier.effective_from < cc.effective_from,
            and_(earlier.effective_from == cc.effective_from, earlier.id < cc.id),
        ),
    )
    as_text = select(cast(routes.subquery().c[0], String))
    moved_off = select(cc.customer_id).where(*later, cc.old_value.in_(as_text), first_of_them)
    return or_(and_(CustomerRow.route_id.in_(routes), ~changed), CustomerRow.id.in_(moved_off))


def _scope(route_id: int | None, station_id: int | None, on: date) -> list[object]:
    """Active customers of the route or station they were on at ``on`` (the period's start)."""
    conds: list[object] = [CustomerRow.status == "active"]
    if route_id is not None:
        conds.append(_on_routes_then(select(RouteRow.id).where(RouteRow.id == route_id), on))
    if station_id is not None:
        routes = select(RouteRow.id).where(RouteRow.station_id == station_id)
        conds.append(_on_routes_then(routes, on))
    return conds


def _in_force(conn: Connection, lo: int, hi: int, day: date) -> dict[int, dict[str, str | None]]:
    """Per customer, the billed fields changed with effect after ``day``: their value then."""
    out: dict[int, dict[str, str | None]] = defaultdict(dict)
    for cid, field, old in conn.execute(
        select(CustomerChangeRow.customer_id, CustomerChangeRow.field, CustomerChangeRow.old_value)
        .where(
            CustomerChangeRow.customer_id.between(lo, hi),
            CustomerChangeRow.field.in_(("persons", "households", "tariff_code")),
            CustomerChangeRow.effective_from > day,
        )
        .order_by(CustomerChangeRow.effective_from.desc(), CustomerChangeRow.id.desc())
    ):
        out[cid][field] = old  # the earliest change's old value is written last
    return out


def _as_of(account: compute.Account, then: dict[str, str | None]) -> compute.Account:
    if not then:
        return account
    return compute.Account(
        account.customer_id,
        account.account_no,
        then.get("tariff_code") or account.tariff_code,
        int(then["persons"] or 0) if "persons" in then else account.persons,
        int(then["households"] or 1) if "households" in then else account.households,
    )


def find_unfinished(
    session: Session,
    period_start: date,
    period_end: date,
    *,
    route_id: int | None = None,
    station_id: int | None = None,
) -> int | None:
    """A run of the same period and scope that has not ended, if any."""
    r = BillingRunRow
    return session.scalar(
        select(r.id)
        .where(
            r.period_start == period_start,
            r.period_end == period_end,
            r.route_id.is_(None) if route_id is None else r.route_id == route_id,
            r.station_id.is_(None) if station_id is None else r.station_id == station_id,
            r.status != "done",
        )
        .order_by(r.id)
        .limit(1)
    )


def create_run(
    session: Session,
    period_start: date,
    period_end: date,
    *,
    clock: Callable[[], datetime],
    route_id: int | None = None,
    station_id: int | None = None,
    chunk_size: int = 2000,
) -> BillingRunRow:
    """A run and its chunks (``chunk_size`` accounts each, in customer id order)."""
    if period_end <= period_start:
        raise Invalid("period_end", "must be after period_start")
    for name, day in (("period_start", period_start), ("period_end", period_end)):
        if not EARLIEST <= day <= LATEST:
            raise Invalid(name, f"{day.isoformat()} is outside {EARLIEST.year}–{LATEST.year}")
    if period_end - period_start > MAX_PERIOD:
        raise Invalid("period_end", f"a period is at most {MAX_PERIOD.days} days")
    if route_id is not None and station_id is not None:
        raise Invalid("station_code", "give a route or a station, not both")
    run = BillingRunRow(
        period_start=period_start,
        period_end=period_end,
        route_id=route_id,
        station_id=station_id,
        status="pending",
        created_at=clock(),
    )
    session.add(run)
    session.flush()
    ids = session.scalars(
        select(CustomerRow.id)
        .where(*_scope(route_id, station_id, period_start))  # type: ignore[arg-type]
        .order_by(CustomerRow.id)
    ).all()
    chunks = [
        {
            "run_id": run.id,
            "first_customer": ids[i],
            "last_customer": ids[min(i + chunk_size, len(ids)) - 1],
            "accounts": min(chunk_size, len(ids) - i),
            "status": "pending",
            "bills": 0,
            "skipped": 0,
        }
        for i in range(0, len(ids), chunk_size)
    ]
    if chunks:
        session.execute(insert(BillingChunkRow), chunks)
    run.accounts = len(ids)
    session.commit()
    return run


def claim(
    session: Session, run_id: int, worker: str, *, now: datetime, lease: timedelta
) -> Chunk | None:
    """Take the next free chunk (or one whose claim is older than ``lease``); commits."""
    t = BillingChunkRow
    pick = (
        select(t.id)
        .where(
            t.run_id == run_id,
            or_(t.status == "pending", and_(t.status == "claimed", t.claimed_at < now - lease)),
        )
        .order_by(t.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    chunk_id = session.scalar(pick)
    if chunk_id is None:
        session.rollback()
        return None
    session.execute(
        update(t)
        .where(t.id == chunk_id)
        .values(status="claimed", claimed_by=worker, claimed_at=now)
    )
    session.execute(
        update(BillingRunRow)
        .where(BillingRunRow.id == run_id, BillingRunRow.status == "pending")
        .values(status="running")
    )
    row = session.execute(
        select(t.first_customer, t.last_customer, t.accounts).where(t.id == chunk_id)
    ).one()
    session.commit()
    return Chunk(chunk_id, row[0], row[1], row[2])


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
                *_scope(run.route_id, run.station_id, run.period_start),  # type: ignore[arg-type]
            )
            .order_by(CustomerRow.id)
        )
    ]
    changed = _in_force(conn, lo, hi, run.period_start)
    if changed:
        accounts = [_as_of(a, changed.get(a.customer_id, {})) for a in accounts]
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


def finish_chunk(
    session: Session,
    run: RunInfo,
    chunk: Chunk,
    worker: str,
    drafts: list[compute.Draft],
    skips: list[compute.Skip],
    *,
    now: datetime,
) -> bool:
    """Write the chunk's bills and skips and mark it done, in one transaction. False when the
    chunk was taken over by another worker meanwhile (nothing is written)."""
    mine = session.execute(
        update(BillingChunkRow)
        .where(
            BillingChunkRow.id == chunk.id,
            BillingChunkRow.claimed_by == worker,
            BillingChunkRow.status == "claimed",
        )
        .values(status="done", bills=len(drafts), skipped=len(skips))
    )
    if mine.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    write_bills(session, run, drafts, now=now)
    if skips:
        session.execute(
            insert(BillingSkipRow),
            [
                {"run_id": run.id, "customer_id": s.account.customer_id, "reason": s.reason[:200]}
                for s in skips
            ],
        )
    session.commit()
    return True


def work(
    engine: Engine,
    run_id: int,
    catalog: Catalog,
    *,
    clock: Callable[[], datetime],
    worker: str | None = None,
    tz: tzinfo = VIETNAM,
    lease: timedelta = timedelta(minutes=10),
    max_chunks: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
    quote_cache: int = 200_000,
    stats: dict[str, int] | None = None,
) -> int:
    """Claim and bill chunks of ``run_id`` until none is left (or ``max_chunks``); returns the
    number of accounts processed. ``on_chunk`` is told each finished chunk's account count;
    ``quote_cache`` bounds the memoised quotes (0: none); ``stats`` gets the quote hits and
    misses."""
    worker = worker or f"w-{uuid.uuid4().hex[:8]}"
    done = 0
    chunks = 0
    # reads in plain transactions (SQLite readers run beside its one writer); writes take the
    # write lock when they begin
    writes = engine.execution_options(sqlite_begin="IMMEDIATE")
    with Session(writes, expire_on_commit=False) as session, Session(engine) as reader:
        row = session.get(BillingRunRow, run_id)
        if row is None:
            raise NotFound(f"no billing run {run_id}")
        run = RunInfo.of(row)
        session.rollback()
        pricer = compute.Pricer(catalog, run.period_start, run.period_end, size=quote_cache)
        while max_chunks is None or chunks < max_chunks:
            chunk = claim(session, run_id, worker, now=clock(), lease=lease)
            if chunk is None:
                break
            if _bill_and_finish(session, reader, run, chunk, worker, pricer, tz=tz, clock=clock):
                done += chunk.accounts
                if on_chunk is not None:
                    on_chunk(chunk.accounts)
            chunks += 1
        _close_if_done(session, run_id, clock())
    if stats is not None:
        info = pricer.price.cache_info()  # type: ignore[attr-defined]
        stats.update(quote_hits=info.hits, quote_misses=info.misses)
    return done


def _bill_and_finish(
    session: Session,
    reader: Session,
    run: RunInfo,
    chunk: Chunk,
    worker: str,
    pricer: compute.Pricer,
    *,
    tz: tzinfo,
    clock: Callable[[], datetime],
) -> bool:
    """Bill a claimed chunk. A bill that another run wrote meanwhile (the once-per-period
    index) makes the chunk be read again, which skips that account; any other error fails
    the chunk with its reason, so the run still ends."""
    for attempt in range(3):
        try:
            drafts, skips = bill_chunk(reader, run, chunk, pricer, tz=tz, now=clock())
            return finish_chunk(session, run, chunk, worker, drafts, skips, now=clock())
        except IntegrityError:
            session.rollback()
            reader.rollback()
            if attempt == 2:
                return _fail(session, chunk, worker, "bills written by another run meanwhile")
        except Exception as exc:  # noqa: BLE001  (one bad chunk must not hang the run)
            session.rollback()
            reader.rollback()
            log.error("billing.chunk_failed", run=run.id, chunk=chunk.id, error=repr(exc))
            return _fail(session, chunk, worker, f"{type(exc).__name__}: {exc}")
    return False


def _fail(session: Session, chunk: Chunk, worker: str, error: str) -> bool:
    session.execute(
        update(BillingChunkRow)
        .where(BillingChunkRow.id == chunk.id, BillingChunkRow.claimed_by == worker)
        .values(status="failed", error=error[:300])
    )
    session.commit()
    return False


def retry_failed(session: Session, run_id: int) -> int:
    """Put a run's failed chunks back to pending (their cause fixed); commits. Returns how
    many; the run is open again when there were any."""
    result = session.execute(
        update(BillingChunkRow)
        .where(BillingChunkRow.run_id == run_id, BillingChunkRow.status == "failed")
        .values(status="pending", claimed_by=None, claimed_at=None, error=None)
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    if count:
        session.execute(
            update(BillingRunRow)
            .where(BillingRunRow.id == run_id)
            .values(status="pending", finished_at=None)
        )
    session.commit()
    return count


def _close_if_done(session: Session, run_id: int, now: datetime) -> None:
    left = session.scalar(
        select(func.count())
        .select_from(BillingChunkRow)
        .where(BillingChunkRow.run_id == run_id, BillingChunkRow.status.not_in(FINAL))
    )
    if left == 0:
        session.execute(
            update(BillingRunRow)
            .where(BillingRunRow.id == run_id, BillingRunRow.status != "done")
            .values(status="done", finished_at=now)
        )
        session.commit()


def progress(session: Session, run_id: int) -> Progress:
    run = session.get(BillingRunRow, run_id)
    if run is None:
        raise NotFound(f"no billing run {run_id}")
    t = BillingChunkRow
    total, done, acc_done, bills, skipped = session.execute(
        select(
            func.count(),
            func.count().filter(t.status == "done"),
            func.coalesce(func.sum(t.accounts).filter(t.status == "done"), 0),
            func.coalesce(func.sum(t.bills), 0),
            func.coalesce(func.sum(t.skipped), 0),
        ).where(t.run_id == run_id)
    ).one()
    errors = tuple(
        f"chunk {cid} (customers {a}–{b}): {err}"
        for cid, a, b, err in session.execute(
            select(t.id, t.first_customer, t.last_customer, t.error)
            .where(t.run_id == run_id, t.status == "failed")
            .order_by(t.id)
        )
    )
    session.refresh(run)
    return Progress(
        run_id,
        run.status,
        total,
        done,
        run.accounts,
        int(acc_done),
        int(bills),
        int(skipped),
        len(errors),
        errors,
    )
