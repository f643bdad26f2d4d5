"""Benchmark: a billing run over synthetic accounts, from readings to stored bills.

    python -m tests.bench.bench_billing --accounts 1000000 --db sqlite --workers 2
    python -m tests.bench.bench_billing --accounts 1000000 --db postgres --workers 2

Seeding (customers, meters, three readings each) is timed apart from the run. The run is
timed from creating it (chunking the accounts) to the last chunk committed, and checked:
every account is billed or skipped exactly once. Prints accounts/s, the quote cache's hit
rate and each worker's own peak RSS (VmHWM from /proc). ``--spread wide`` seeds long-tailed
consumptions so that few accounts share a quote; ``--quote-cache 0`` turns the cache off.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.billing import runs
from central.billing.parallel import peak_rss_kb, run_workers
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.billing import BillingSkipRow, BillRow
from central.tariffs.catalog import DEFAULT_DIR, load_dir
from tests.support.billing_seed import seed
from tests.support.db import postgres_schema_url


def bench(url: str, accounts: int, workers: int, chunk: int, spread: str, cache: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    seeded = seed(engine, accounts, routes=100, spread=spread)
    t_seed = time.perf_counter() - t0
    print(
        f"seeded {seeded.accounts:,} accounts ({spread} spread of consumptions), "
        f"{seeded.readings:,} readings in {t_seed:.1f} s"
    )
    t0 = time.perf_counter()
    with Session(engine) as s:
        run_id = runs.create_run(s, *_PERIOD, clock=lambda: datetime.now(UTC), chunk_size=chunk).id
    t_create = time.perf_counter() - t0
    reports: list[dict[str, int]] = []
    if workers <= 1:
        stats: dict[str, int] = {}
        runs.work(
            engine,
            run_id,
            load_dir(),
            clock=lambda: datetime.now(UTC),
            quote_cache=cache,
            stats=stats,
        )
        reports.append({"peak_rss_kb": 0, **stats})  # in this process: its peak is the seed's
    else:
        run_workers(url, run_id, DEFAULT_DIR, workers=workers, quote_cache=cache, reports=reports)
    elapsed = time.perf_counter() - t0
    with Session(engine) as s:
        bills = s.scalar(select(func.count()).select_from(BillRow).where(BillRow.run_id == run_id))
        skipped = s.scalar(select(func.count()).select_from(BillingSkipRow))
        billed_total = s.scalar(select(func.sum(BillRow.total)))
        distinct = s.scalar(
            select(func.count()).select_from(
                select(BillRow.tariff_code, BillRow.consumption).distinct().subquery()
            )
        )
    assert bills is not None
    assert skipped is not None
    assert bills + skipped == accounts, (bills, skipped)
    print(
        f"run: {accounts:,} accounts ({bills:,} bills, {skipped:,} skipped) in {elapsed:.1f} s "
        f"(chunking {t_create:.1f} s) = {accounts / elapsed:,.0f} accounts/s "
        f"with {workers} worker(s), chunk {chunk}, quote cache {cache:,}"
    )
    hits = sum(r.get("quote_hits", 0) for r in reports)
    misses = sum(r.get("quote_misses", 0) for r in reports)
    if hits + misses:
        print(
            f"quotes: {misses:,} priced, {hits:,} from the cache "
            f"({100 * hits / (hits + misses):.1f} % hits); "
            f"{distinct:,} distinct (tariff, consumption) pairs"
        )
    print(f"billed total {billed_total:,} VND-equivalent minor units")
    peaks = [r["peak_rss_kb"] / 1024 for r in reports if r.get("peak_rss_kb")]
    if peaks:
        print("peak RSS per worker (its own VmHWM): " + ", ".join(f"{p:.0f} MB" for p in peaks))
    print(f"peak RSS of this process (seeding included): {peak_rss_kb() / 1024:.0f} MB")
    engine.dispose()


_PERIOD = (datetime(2025, 6, 12).date(), datetime(2025, 7, 12).date())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument(
        "--spread",
        choices=["narrow", "wide"],
        default="narrow",
        help="consumptions around each tariff's typical month, or long-tailed",
    )
    parser.add_argument("--quote-cache", type=int, default=200_000, help="0: no cache")
    args = parser.parse_args()
    extra = (args.spread, args.quote_cache)
    print(f"billing benchmark: {args.accounts:,} accounts on {args.db}")
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            bench(url, args.accounts, args.workers, args.chunk, *extra)
    else:
        with postgres_schema_url() as url:
            bench(url, args.accounts, args.workers, args.chunk, *extra)


if __name__ == "__main__":
    main()
