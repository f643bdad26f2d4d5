"""Benchmark: one day's reconciliation of a bank statement against recorded payments.

    python -m tests.bench.bench_reconcile --lines 1000000 --db sqlite
    python -m tests.bench.bench_reconcile --lines 1000000 --db postgres

Seeds ``--lines`` statement lines and as many bank payments for one business day (timed
apart), with realistic faults: 0.5 % of lines with another amount, 0.5 % with a mistyped
reference, 0.2 % without a payment, 0.2 % of payments without a line, 0.1 % duplicated lines.
Then times ``reconcile_day`` (load both sides, match, open the exceptions) and checks every
count against what was seeded. Goal: 1,000,000 × 1,000,000 in ≤ 30 s under 1 GB.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.payments import PaymentRow, StatementLineRow
from central.payments.reconcile import reconcile_day
from m2c import logs
from tests.support.db import postgres_schema_url

DAY = date(2025, 7, 20)
START = datetime(2025, 7, 19, 17, 0, tzinfo=UTC)  # 00:00 in Vietnam


def seed(engine: Engine, n: int, batch: int = 20_000) -> dict[str, int]:
    rnd = random.Random(7)
    expect = {"amount_off": 0, "ref_typo": 0, "no_payment": 0, "no_line": 0, "dup": 0}
    now = datetime.now(UTC)
    for base in range(0, n, batch):
        pays, lines = [], []
        for i in range(base, min(base + batch, n)):
            ref = f"FT{i:012d}"
            amount = rnd.randrange(10, 2000) * 1000
            at = START + timedelta(seconds=rnd.randrange(86_400))
            fate = i % 1000
            line_ref, line_amount = ref, amount
            if fate < 5:
                line_amount = amount + 1000
                expect["amount_off"] += 1
            elif fate < 10:
                line_ref = f"FX{i:012d}"
                expect["ref_typo"] += 1
            if not 10 <= fate < 12:
                pays.append(
                    {
                        "channel": "bank",
                        "method": "transfer",
                        "provider_ref": ref,
                        "customer_id": None,
                        "bill_id": None,
                        "amount": amount,
                        "currency": "VND",
                        "status": "completed",
                        "taken_by": "bench",
                        "gateway_id": None,
                        "note": "",
                        "paid_at": at,
                        "received_at": now,
                    }
                )
            else:
                expect["no_payment"] += 1
            if not 12 <= fate < 14:
                row = {
                    "source": "bank",
                    "ref": line_ref,
                    "value_date": DAY,
                    "amount": line_amount,
                    "description": f"TT {i}",
                    "import_id": "bench",
                    "imported_at": now,
                }
                lines.append(row)
                if fate == 14:
                    lines.append({**row, "ref": f"{line_ref}/2"})  # listed twice by the bank
                    expect["dup"] += 1
            else:
                expect["no_line"] += 1
        with engine.begin() as conn:
            conn.execute(insert(PaymentRow.__table__), pays)  # type: ignore[arg-type]
            conn.execute(insert(StatementLineRow.__table__), lines)  # type: ignore[arg-type]
    return expect


def bench(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    expect = seed(engine, n)
    print(f"seeded {n:,} payments and {n:,} statement lines in {time.perf_counter() - t0:.1f} s")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    result = reconcile_day(engine, "bank", DAY, clock=lambda: datetime.now(UTC), window=1)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"reconciled in {elapsed:.1f} s ({n / elapsed:,.0f} lines/s), peak RSS {peak:.0f} MB "
        f"(before {rss_before:.0f} MB); goal ≤ 30 s, < 1024 MB"
    )
    print(result)
    # the duplicated lines carry their own reference here, so they arrive as lines whose
    # payment is missing and are matched by amount and date as suggestions
    seeded_suggest = expect["amount_off"] + expect["ref_typo"]
    assert result["suggested"] >= seeded_suggest, (result, expect)
    assert result["matched"] == n - sum(
        expect[k] for k in ("amount_off", "ref_typo", "no_payment", "no_line")
    )
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    logs.configure("warning", json=True)  # one log line per payment would be measured too
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            bench(f"sqlite:///{Path(tmp) / 'central.db'}", args.lines)
    else:
        with postgres_schema_url() as url:
            bench(url, args.lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
