"""Billing runs: a period and a scope (all, a route or a station) cut into chunks of customer
ids that workers claim, bill and finish in one transaction each.

A worker claims a chunk with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer
and needs no lock); a chunk's bills, skips and its ``done`` mark commit together, so a crash
loses at most the chunks in flight, and they are claimed again once their claim is older than
the lease. Any number of workers (processes, hosts) can work on one run. A chunk is read and
drafted by :mod:`central.billing.chunk`; a chunk that fails is marked with its error so the run
still ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import structlog
from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.billing import compute
from central.billing.chunk import VIETNAM, Chunk, RunInfo, bill_chunk
from central.billing.scope import scope
from central.billing.writer import BillExists, write_bills
from central.db.models.billing import BillingChunkRow, BillingRunRow, BillingSkipRow
from central.db.models.records import CustomerRow
from central.records.errors import Invalid, NotFound
from central.tariffs.catalog import Catalog

EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)  # periods a run accepts
MAX_PERIOD = timedelta(days=366)


FINAL = ("done", "failed")  # chunk states that end a run
log = structlog.get_logger(__name__)


class RunError(Exception):
    """A billing run cannot be created or worked on."""


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
        .where(*scope(route_id, station_id, period_start))  # type: ignore[arg-type]
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
        except (IntegrityError, BillExists):
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
