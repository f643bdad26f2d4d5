"""Central ingest throughput: readings/s parsed and stored (idempotent insert, conflict check,
gateway/sequence bookkeeping, one transaction per group of messages, as the worker does),
into SQLite and PostgreSQL, with one worker process and with two at once.

    python -m tests.bench.bench_ingest [--readings 300000] [--per-message 500] [--group 20]

The MQTT hop is left out here (bench_outbox measures it); each worker process gets its own
gateway's messages, already as the JSON bytes that arrive from the broker.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.ingest.parse import parse
from central.ingest.store import store
from contract import mqtt as contract
from tests.support.db import postgres_available, postgres_schema_url
from tests.support.readings import reading


def payloads(worker: int, total: int, per_message: int) -> list[tuple[str, bytes]]:
    gw = f"bench-{worker}"
    out = []
    for seq, start in enumerate(range(0, total, per_message)):
        readings = tuple(
            reading(k // 50, meter=f"w{worker}-m{k % 50}")
            for k in range(start, min(start + per_message, total))
        )
        batch = contract.ReadingsBatch(
            gateway_id=gw, seq=seq, sent_at=datetime.now(UTC), readings=readings
        )
        out.append((contract.topic(gw, "readings"), batch.model_dump_json().encode()))
    return out


def work(url: str, worker: int, total: int, per_message: int, group: int, start, results) -> None:  # type: ignore[no-untyped-def]
    messages = payloads(worker, total, per_message)
    engine = make_engine(url)
    start.wait()
    t = time.perf_counter()
    for i in range(0, len(messages), group):
        items = [parse(topic, body) for topic, body in messages[i : i + group]]
        store(engine, items)  # type: ignore[arg-type]
    results.put((worker, total, time.perf_counter() - t))
    engine.dispose()


def run(url: str, workers: int, total: int, per_message: int, group: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=work, args=(url, w, total, per_message, group, start, results))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    per = [n / s for _, n, s in got]
    aggregate = sum(n for _, n, _ in got) / max(s for _, _, s in got)
    print(
        f"  {workers} worker(s): per worker {', '.join(f'{r:,.0f}' for r in per)} readings/s;"
        f" together {aggregate:,.0f} readings/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=300_000, help="per worker")
    parser.add_argument("--per-message", type=int, default=500)
    parser.add_argument("--group", type=int, default=20, help="messages per transaction")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            url = f"sqlite:///{Path(tmp) / f'central{workers}.db'}"
            print(f"SQLite ({args.readings:,} readings per worker)")
            run(url, workers, args.readings, args.per_message, args.group)
    reason = postgres_available()
    if reason:
        print(f"PostgreSQL skipped: {reason}")
        return
    for workers in (1, 2):
        with postgres_schema_url() as url:
            print(f"PostgreSQL ({args.readings:,} readings per worker)")
            run(url, workers, args.readings, args.per_message, args.group)


if __name__ == "__main__":
    main()
