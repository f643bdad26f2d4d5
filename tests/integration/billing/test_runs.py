"""Billing runs end to end on SQLite and PostgreSQL: readings in, stored bills out; chunks
claimed, a crash in the middle resumed, two workers on one run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from central.billing import compute, runs
from central.billing.writer import BillExists
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.billing import BillingSkipRow, BillRow
from central.db.models.records import CustomerRow
from central.tariffs import Usage, quote
from central.tariffs.catalog import Catalog, load_dir
from tests.support.billing_seed import seed

NOW = datetime(2025, 7, 13, 8, 0, tzinfo=UTC)
PERIOD = (date(2025, 6, 12), date(2025, 7, 12))


def clock() -> datetime:
    return NOW


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_dir()


def _new_run(engine: Engine, chunk_size: int = 25) -> int:
    with Session(engine) as s:
        return runs.create_run(s, *PERIOD, clock=clock, chunk_size=chunk_size).id


def test_a_run_bills_every_account_from_its_readings(engine: Engine, catalog: Catalog) -> None:
    seeded = seed(engine, 400, seed_value=7)
    run_id = _new_run(engine)
    seen: list[int] = []
    done = runs.work(engine, run_id, catalog, clock=clock, on_chunk=seen.append)
    assert done == 400
    assert sum(seen) == 400
    with Session(engine) as s:
        p = runs.progress(s, run_id)
        assert (p.status, p.chunks, p.chunks_done, p.accounts_done) == ("done", 16, 16, 400)
        assert p.bills + p.skipped == 400
        skips = dict(s.execute(select(BillingSkipRow.customer_id, BillingSkipRow.reason)).all())
        assert len(skips) == seeded.no_readings == p.skipped
        assert set(skips.values()) == {"no reading"}
        bills = s.scalars(select(BillRow).where(BillRow.run_id == run_id)).all()
        customers = {c.id: c for c in s.scalars(select(CustomerRow))}
        estimated = [b for b in bills if b.estimated]
        assert len(estimated) == seeded.no_closing
        rolled = [b for b in bills if "rollover" in b.flags]
        assert len(rolled) == seeded.rollovers
        for b in bills:
            c = customers[b.customer_id]
            # the stored bill is the engine's quote for the stored consumption
            q = quote(
                catalog[c.tariff_code],
                Usage(
                    Decimal(int(b.consumption)), *PERIOD, households=c.households, persons=c.persons
                ),
            )
            assert (b.subtotal, b.tax_total, b.total) == (q.subtotal, q.tax_total, q.total)
            lines = json.loads(b.lines_json)
            assert sum(ln["amount"] for ln in lines) == b.total
            assert b.state == "draft"
            if not b.estimated and "rollover" not in b.flags:
                assert b.consumption == b.current_index - b.previous_index
        for b in rolled:
            digits = 6 if customers[b.customer_id].tariff_code.startswith("evn") else 5
            assert b.current_index < b.previous_index
            assert b.consumption == 10**digits - b.previous_index + b.current_index


def test_a_crashed_worker_s_chunk_is_taken_over(engine: Engine, catalog: Catalog) -> None:
    seed(engine, 120, seed_value=3)
    run_id = _new_run(engine, chunk_size=20)
    with Session(engine, expire_on_commit=False) as s:
        dead = runs.claim(
            s, run_id, "dead-worker", now=NOW - timedelta(hours=1), lease=timedelta(minutes=10)
        )
        assert dead is not None
    # one chunk by a live worker, then it "crashes" too
    assert runs.work(engine, run_id, catalog, clock=clock, worker="w1", max_chunks=1) == 20
    with Session(engine) as s:
        assert runs.progress(s, run_id).chunks_done == 1
    # resuming: the dead worker's claim is older than the lease, so it is billed again
    assert runs.work(engine, run_id, catalog, clock=clock, worker="w2") == 100
    with Session(engine) as s:
        p = runs.progress(s, run_id)
        assert (p.status, p.chunks_done, p.bills + p.skipped) == ("done", 6, 120)
        per_customer = s.execute(
            select(BillRow.customer_id, func.count())
            .group_by(BillRow.customer_id)
            .having(func.count() > 1)
        ).all()
        assert per_customer == []
    # the dead worker coming back cannot write its stale chunk
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(runs.BillingRunRow, run_id)
        assert row is not None
        run = runs.RunInfo.of(row)
        assert runs.finish_chunk(s, run, dead, "dead-worker", [], [], now=NOW) is False


def test_two_workers_share_a_run_without_double_billing(engine: Engine, catalog: Catalog) -> None:
    seed(engine, 300, seed_value=5)
    run_id = _new_run(engine, chunk_size=10)
    counts: dict[str, int] = {}

    def go(name: str) -> None:
        counts[name] = runs.work(engine, run_id, catalog, clock=clock, worker=name)

    threads = [threading.Thread(target=go, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(counts.values()) == 300
    with Session(engine) as s:
        billed = s.scalar(select(func.count(func.distinct(BillRow.customer_id))))
        rows = s.scalar(select(func.count()).select_from(BillRow))
        skipped = s.scalar(select(func.count()).select_from(BillingSkipRow))
        assert billed == rows
        assert rows + skipped == 300


def test_two_runs_racing_on_one_period_bill_each_account_once(
    engine: Engine, catalog: Catalog
) -> None:
    seed(engine, 60, seed_value=9)
    first, second = _new_run(engine, chunk_size=60), _new_run(engine, chunk_size=60)
    # the second run drafts its chunk before the first run writes anything...
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(runs.BillingRunRow, second)
        assert row is not None
        info = runs.RunInfo.of(row)
        mine = runs.claim(s, second, "late", now=NOW, lease=timedelta(minutes=10))
        assert mine is not None
        drafts, _skips = runs.bill_chunk(
            s, info, mine, compute.Pricer(catalog, *PERIOD), tz=runs.VIETNAM, now=NOW
        )
        assert len(drafts) > 50
    # ...the first run bills the period...
    assert runs.work(engine, first, catalog, clock=clock) == 60
    # ...and the database refuses the second run's stale drafts outright
    writes = engine.execution_options(sqlite_begin="IMMEDIATE")
    with Session(writes, expire_on_commit=False) as s, pytest.raises(BillExists):
        runs.finish_chunk(s, info, mine, "late", drafts, [], now=NOW)
    # a worker taking the chunk over reads it again: every account is "already billed"
    later = NOW + timedelta(hours=1)
    assert runs.work(engine, second, catalog, clock=lambda: later) == 60
    with Session(engine) as s:
        p = runs.progress(s, second)
        assert (p.status, p.bills, p.skipped, p.failed) == ("done", 0, 60, 0)
        reasons = s.scalars(
            select(BillingSkipRow.reason).where(BillingSkipRow.run_id == second)
        ).all()
        already = [r for r in reasons if r.startswith("already billed for 2025-06-12–2025-07-12")]
        assert len(already) == runs.progress(s, first).bills
        per_customer = s.execute(
            select(BillRow.customer_id).group_by(BillRow.customer_id).having(func.count() > 1)
        ).all()
        assert per_customer == []


def test_two_runs_at_once_never_bill_an_account_twice(engine: Engine, catalog: Catalog) -> None:
    seed(engine, 200, seed_value=13)
    run_ids = [_new_run(engine, chunk_size=10), _new_run(engine, chunk_size=10)]
    done: dict[int, int] = {}

    def go(run_id: int) -> None:
        done[run_id] = runs.work(engine, run_id, catalog, clock=clock)

    threads = [threading.Thread(target=go, args=(r,)) for r in run_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert done == {run_ids[0]: 200, run_ids[1]: 200}
    with Session(engine) as s:
        rows = s.scalar(select(func.count()).select_from(BillRow))
        billed = s.scalar(select(func.count(func.distinct(BillRow.customer_id))))
        assert rows == billed  # once each
        for run_id in run_ids:
            p = runs.progress(s, run_id)
            assert (p.status, p.failed, p.bills + p.skipped) == ("done", 0, 200)
