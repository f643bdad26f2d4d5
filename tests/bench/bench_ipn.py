"""Benchmark: VNPay IPNs settled by one worker, with latency percentiles.

    python -m tests.bench.bench_ipn --orders 5000 --db sqlite
    python -m tests.bench.bench_ipn --orders 5000 --db postgres --http

Seeds accounts with one issued bill and one pending VNPay order each, then delivers one
signed success IPN per order (plus 10 % duplicates, answered 02) — by calling the IPN handler
in one thread, or with ``--http`` through one uvicorn worker from 4 client threads. Each IPN
verifies the HMAC, locks the order, books the payment, posts it and allocates it. Checks that
every order is paid once. Goal: ≥ 1,000 IPNs/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from central.app import create_app
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.billing import BillRow
from central.db.models.payments import PaymentRow, VnpayOrderRow
from central.db.models.records import CustomerRow, UtilityRow
from central.payments import vnpay, vnpay_orders
from central.records.customers import BEN_THANH
from central.settings import PaymentsSettings, VnpaySettings
from m2c import logs
from tests.support.central_app import serve
from tests.support.db import postgres_schema_url

SECRET = "BenchSecretBenchSecret0123"
NOW = datetime(2025, 7, 20, 3, 0, tzinfo=UTC)


def seed(engine: Engine, n: int) -> list[dict[str, str]]:
    with engine.begin() as conn:
        conn.execute(insert(UtilityRow), [BEN_THANH.model_dump()])
        conn.execute(
            insert(CustomerRow.__table__),
            [  # type: ignore[arg-type]
                {
                    "id": i,
                    "utility_code": "ben-thanh",
                    "account_no": f"01{i:09d}",
                    "name": "x",
                    "address": "",
                    "phone": "",
                    "category": "residential",
                    "tariff_code": "hcmc-water-residential",
                    "persons": 1,
                    "households": 1,
                    "industry": "",
                    "payment_method": "qr",
                    "status": "active",
                    "premise_id": None,
                    "route_id": None,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(1, n + 1)
            ],
        )
        conn.execute(
            insert(BillRow.__table__),
            [  # type: ignore[arg-type]
                {
                    "id": i,
                    "run_id": None,
                    "customer_id": i,
                    "account_no": f"01{i:09d}",
                    "tariff_code": "hcmc-water-residential",
                    "period_start": date(2025, 6, 1),
                    "period_end": date(2025, 6, 30),
                    "meter_id": "",
                    "previous_index": 0.0,
                    "current_index": 1.0,
                    "consumption": 1.0,
                    "estimated": False,
                    "flags": "",
                    "lines_json": "[]",
                    "subtotal": 100_000,
                    "tax_total": 0,
                    "total": 100_000,
                    "currency": "VND",
                    "state": "issued",
                    "replaces_id": None,
                    "created_at": NOW,
                    "issued_at": NOW,
                    "paid_at": None,
                    "cancelled_at": None,
                    "cancel_reason": "",
                }
                for i in range(1, n + 1)
            ],
        )
        conn.execute(
            insert(VnpayOrderRow.__table__),
            [  # type: ignore[arg-type]
                {
                    "txn_ref": f"B{i:09d}",
                    "customer_id": i,
                    "bill_ids": str(i),
                    "amount": 100_000,
                    "status": "pending",
                    "response_code": "",
                    "transaction_no": "",
                    "bank_code": "",
                    "payment_id": None,
                    "created_by": "bench",
                    "created_at": NOW,
                    "expires_at": NOW + timedelta(minutes=15),
                    "settled_at": None,
                }
                for i in range(1, n + 1)
            ],
        )
    ipns = []
    for i in range(1, n + 1):
        p = {
            "vnp_Amount": "10000000",
            "vnp_BankCode": "NCB",
            "vnp_PayDate": "20250720100500",
            "vnp_ResponseCode": "00",
            "vnp_TmnCode": "BENCH001",
            "vnp_TransactionNo": str(i),
            "vnp_TransactionStatus": "00",
            "vnp_TxnRef": f"B{i:09d}",
        }
        p["vnp_SecureHash"] = vnpay.sign(p, SECRET)
        ipns.append(p)
    return ipns + ipns[::10]  # 10 % duplicates


def report(name: str, latencies: list[float], elapsed: float, codes: list[str]) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name}: {len(latencies):,} IPNs in {elapsed:.1f} s = {len(latencies) / elapsed:,.0f}"
        f"/s; p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms; goal ≥ 1,000/s; "
        f"codes {sorted(set(codes))}"
    )


def bench(url: str, n: int, http: bool) -> None:
    engine = make_engine(url)
    upgrade(engine)
    ipns = seed(engine, n)
    settings = PaymentsSettings(
        vnpay=VnpaySettings(tmn_code="BENCH001", hash_secret=SecretStr(SECRET))
    )
    latencies: list[float] = []
    codes: list[str] = []
    if not http:
        t0 = time.perf_counter()
        for p in ipns:
            s = time.perf_counter()
            codes.append(vnpay_orders.ipn(engine, settings.vnpay, p, clock=lambda: NOW)[0])
            latencies.append(time.perf_counter() - s)
        report("one worker, in process", latencies, time.perf_counter() - t0, codes)
    else:
        app = create_app(engine, clock=lambda: NOW, payments=settings)
        with serve(app) as base, httpx.Client(base_url=base, timeout=60) as client:

            def one(p: dict[str, str]) -> tuple[float, str]:
                s = time.perf_counter()
                r = client.get("/api/v1/payments/vnpay/ipn", params=p)
                return time.perf_counter() - s, str(r.json()["RspCode"])

            t0 = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                for lat, code in pool.map(one, ipns):
                    latencies.append(lat)
                    codes.append(code)
            report("one uvicorn worker over HTTP", latencies, time.perf_counter() - t0, codes)
    assert codes.count("00") == n, sorted(set(codes))
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(PaymentRow)) == n
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--http", action="store_true")
    args = parser.parse_args()
    logs.configure("warning", json=True)  # one log line per payment would be measured too
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            bench(f"sqlite:///{Path(tmp) / 'central.db'}", args.orders, args.http)
    else:
        with postgres_schema_url() as url:
            bench(url, args.orders, args.http)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
