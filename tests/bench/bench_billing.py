"""Benchmark: a billing run over synthetic accounts, from readings to stored bills.

    python -m tests.bench.bench_billing --accounts 1000000 --db sqlite --workers 2
    python -m tests.bench.bench_billing --accounts 1000000 --db postgres --workers 2

Seeding (customers, meters, three readings each) is timed apart from the run. The run is
timed from creating it (chunking the accounts) to the last chunk committed, and checked:
every account is billed or skipped exactly once. Prints accounts/s and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.billing import runs
from central.billing.parallel import run_workers
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.billing import BillingSkipRow, BillRow
from central.tariffs.catalog import DEFAULT_DIR, load_dir
from tests.support.billing_seed import seed
from tests.support.db import postgres_schema_url


def _rss_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def bench(url: str, accounts: int, workers: int, chunk: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    seeded = seed(engine, accounts, routes=100)
    t_seed = time.perf_counter() - t0
    print(f"seeded {seeded.accounts:,} accounts, {seeded.readings:,} readings in {t_seed:.1f} s")
    t0 = time.perf_counter()
    with Session(engine) as s:
        run_id = runs.create_run(s, *_PERIOD, clock=lambda: datetime.now(UTC), chunk_size=chunk).id
    t_create = time.perf_counter() - t0
    if workers <= 1:
        runs.work(engine, run_id, load_dir(), clock=lambda: datetime.now(UTC))
    else:
        run_workers(url, run_id, DEFAULT_DIR, workers=workers)
    elapsed = time.perf_counter() - t0
    with Session(engine) as s:
        bills = s.scalar(select(func.count()).select_from(BillRow).where(BillRow.run_id == run_id))
        skipped = s.scalar(select(func.count()).select_from(BillingSkipRow))
        billed_total = s.scalar(select(func.sum(BillRow.total)))
    assert bills is not None
    assert skipped is not None
    assert bills + skipped == accounts, (bills, skipped)
    me, kids = _rss_mb()
    print(
        f"run: {accounts:,} accounts ({bills:,} bills, {skipped:,} skipped) in {elapsed:.1f} s "
        f"(chunking {t_create:.1f} s) = {accounts / elapsed:,.0f} accounts/s "
        f"with {workers} worker(s), chunk {chunk}"
    )
    print(f"billed total {billed_total:,} VND-equivalent minor units")
    print(f"peak RSS: main {me:.0f} MB, largest worker {kids:.0f} MB")
    engine.dispose()


_PERIOD = (datetime(2025, 6, 12).date(), datetime(2025, 7, 12).date())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=5000)
    args = parser.parse_args()
    print(f"billing benchmark: {args.accounts:,} accounts on {args.db}")
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            bench(f"sqlite:///{Path(tmp) / 'bench.db'}", args.accounts, args.workers, args.chunk)
    else:
        with postgres_schema_url() as url:
            bench(url, args.accounts, args.workers, args.chunk)


if __name__ == "__main__":
    main()
