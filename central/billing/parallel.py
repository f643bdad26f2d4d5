"""Several worker processes on one billing run (one per core), with progress polled from the
database. Each process opens its own engine; the run's chunks are the only shared state."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from central.billing import runs
from central.db.engine import make_engine


def _now() -> datetime:
    return datetime.now(UTC)


def peak_rss_kb(pid: int | str = "self") -> int:
    """The process's own peak resident set (VmHWM), in kB; 0 where /proc has none."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _worker(url: str, run_id: int, tariffs_dir: str, name: str, cache: int) -> dict[str, int]:
    from central.tariffs.catalog import load_dir
    from central.tariffs.store import catalog

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            merged = catalog(session, load_dir(Path(tariffs_dir)))
        stats: dict[str, int] = {}
        done = runs.work(
            engine, run_id, merged, clock=_now, worker=name, quote_cache=cache, stats=stats
        )
        return {"accounts": done, "peak_rss_kb": peak_rss_kb(), **stats}
    finally:
        engine.dispose()


def run_workers(
    url: str,
    run_id: int,
    tariffs_dir: Path,
    *,
    workers: int = 2,
    on_progress: Callable[[runs.Progress], None] | None = None,
    poll: float = 0.5,
    quote_cache: int = 200_000,
    reports: list[dict[str, int]] | None = None,
) -> runs.Progress:
    """Bill ``run_id`` with ``workers`` processes; ``on_progress`` sees the run as it goes;
    ``reports`` gets each worker's accounts, own peak RSS (kB) and quote cache figures."""
    ctx = multiprocessing.get_context("spawn")
    engine = make_engine(url)
    try:
        with ctx.Pool(workers) as pool:
            pending = [
                pool.apply_async(
                    _worker, (url, run_id, str(tariffs_dir), f"p{i}-{run_id}", quote_cache)
                )
                for i in range(workers)
            ]
            while not all(p.ready() for p in pending):
                if on_progress is not None:
                    with Session(engine) as session:
                        on_progress(runs.progress(session, run_id))
                time.sleep(poll)
            for p in pending:
                report = p.get()  # re-raises a worker's error here
                if reports is not None:
                    reports.append(report)
        with Session(engine) as session:
            final = runs.progress(session, run_id)
        if on_progress is not None:
            on_progress(final)
        return final
    finally:
        engine.dispose()
