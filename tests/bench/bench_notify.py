"""Benchmark: bill notices for one issued billing run, queued and handed to an SMS provider.

    python -m tests.bench.bench_notify --accounts 1000000 --db sqlite
    python -m tests.bench.bench_notify --accounts 1000000 --db postgres

Seeds N accounts, each with an issued bill and an SMS subscription (timed apart), then times
the sweep that queues one notice per subscription and the delivery through the provider's
bulk API to `m2c sim chat platform` in its own process (counted there). The goal is ≤ 60 s
for a million accounts on a 2-core machine; a second sweep must queue nothing.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from central.db.engine import make_engine, writer_sessions
from central.db.migrate import upgrade
from central.db.models.billing import BillRow
from central.db.models.notifications import NotificationRow, SubscriptionRow
from central.db.models.records import CustomerRow, UtilityRow
from central.notify.delivery import deliver_due
from central.notify.senders import SmsSender
from central.notify.sweeps import sweep_bill_notices
from central.records.customers import BEN_THANH
from central.settings import SmsSettings
from tests.bench.common import peak_rss_mb
from tests.support.db import postgres_schema_url

NOW = datetime(2025, 7, 20, 3, 0, tzinfo=UTC)
GOAL_S = 60.0


def seed(engine: object, n: int, batch: int = 50_000) -> None:
    created = NOW - timedelta(days=60)
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(UtilityRow), [BEN_THANH.model_dump()])
        for lo in range(1, n + 1, batch):
            ids = range(lo, min(lo + batch, n + 1))
            conn.execute(
                insert(CustomerRow),
                [
                    {
                        "id": i,
                        "utility_code": "ben-thanh",
                        "account_no": f"01{i:09d}",
                        "name": f"Khách hàng {i}",
                        "tariff_code": "hcmc-water-residential",
                        "created_at": created,
                        "updated_at": created,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(BillRow),
                [
                    {
                        "customer_id": i,
                        "account_no": f"01{i:09d}",
                        "tariff_code": "hcmc-water-residential",
                        "period_start": date(2025, 6, 12),
                        "period_end": date(2025, 7, 12),
                        "previous_index": 100.0,
                        "current_index": 100.0 + i % 40,
                        "consumption": i % 40,
                        "lines_json": "[]",
                        "subtotal": 5000 * (i % 40),
                        "tax_total": 0,
                        "total": 5000 * (i % 40),
                        "currency": "VND",
                        "state": "issued",
                        "created_at": NOW,
                        "issued_at": NOW,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(SubscriptionRow),
                [
                    {
                        "customer_id": i,
                        "channel": "sms",
                        "address": f"09{i:08d}",
                        "topics": "bill,outage",
                        "locale": "vi",
                        "created_at": created,
                        "created_by": "bench",
                    }
                    for i in ids
                ],
            )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bench(url: str, accounts: int, batch: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    seed(engine, accounts)
    print(
        f"seeded {accounts:,} accounts with an issued bill and an SMS subscription "
        f"in {time.perf_counter() - t0:.1f} s ({engine.dialect.name})"
    )
    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "m2c", "sim", "chat", "platform", "--quiet", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        sim.stdout.readline()  # "chat platform APIs on ..." once it listens
        sessions = writer_sessions(engine)
        t0 = time.perf_counter()
        with sessions() as s:
            queued = sweep_bill_notices(s, clock=lambda: NOW)
            s.commit()
        t_queue = time.perf_counter() - t0
        sender = SmsSender(
            SmsSettings(api_url=f"http://127.0.0.1:{port}", api_key="sms-provider-key")
        )
        t1 = time.perf_counter()
        sent, failed = deliver_due(sessions, {"sms": sender}, clock=lambda: NOW, batch=batch)
        t_send = time.perf_counter() - t1
        total = time.perf_counter() - t0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=30) as r:
            received = json.load(r).get("sms", 0)
        with sessions() as s:
            again = sweep_bill_notices(s, clock=lambda: NOW)
            pending = s.scalar(
                select(func.count())
                .select_from(NotificationRow)
                .where(NotificationRow.state != "sent")
            )
    finally:
        sim.terminate()
        sim.wait(30)
        engine.dispose()
    print(f"queued {queued:,} notices in {t_queue:.1f} s ({queued / t_queue:,.0f}/s)")
    print(
        f"sent {sent:,} ({failed} failed) in {t_send:.1f} s ({sent / t_send:,.0f}/s), "
        f"batches of {batch}; the provider received {received:,}"
    )
    print(f"second sweep queued {again}; not sent: {pending}")
    per_min = accounts / total * 60 / 1e6
    print(
        f"total {total:.1f} s for {accounts:,} accounts ({per_min:.2f} M accounts/min; goal "
        f"1 M in {GOAL_S:.0f} s: ratio {per_min:.2f}); peak RSS {peak_rss_mb():.0f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--batch", type=int, default=1000, help="messages per bulk request")
    args = parser.parse_args(argv)
    if args.db == "postgres":
        with postgres_schema_url() as url:
            bench(url, args.accounts, args.batch)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            bench(f"sqlite:///{Path(tmp) / 'central.db'}", args.accounts, args.batch)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
