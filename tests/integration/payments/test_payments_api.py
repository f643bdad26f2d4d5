"""Counter payments over real HTTP with ``Idempotency-Key`` (replayed, 409 on other
parameters, concurrent duplicates make one payment), the account's ledger and last payments,
refunds, and field cash from gateways booked exactly once by the sweep."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from httpx import Client
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db.engine import make_engine
from central.db.models.payments import PaymentRow
from central.ingest.store import store
from central.payments import field
from contract import mqtt as contract
from tests.support.central_app import central_client
from tests.support.payments_seed import NOW, add_bill, add_customer, clock


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with central_client(db_url, now=NOW) as c:
        yield c


def _count(db_url: str) -> int:
    engine = make_engine(db_url)
    with Session(engine) as s:
        n = s.scalar(select(func.count()).select_from(PaymentRow)) or 0
    engine.dispose()
    return n


def test_counter_payment_idempotency(client: Client, db_url: str) -> None:
    engine = make_engine(db_url)
    cid = add_customer(engine, 1)
    bill = add_bill(engine, cid, 120_000, month=5)
    engine.dispose()
    body = {"customer_id": cid, "amount": 50_000, "method": "cash"}
    missing = client.post("/api/v1/payments", json=body)
    assert missing.status_code == 422
    assert "Idempotency-Key" in missing.text
    first = client.post("/api/v1/payments", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/payments", json=body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(
        "/api/v1/payments", json={**body, "amount": 50_001}, headers={"Idempotency-Key": "k-1"}
    )
    assert other.status_code == 409
    assert first.json()["allocations"] == [{"bill_id": bill, "amount": 50_000}]
    assert first.json()["taken_by"].startswith("key:test-admin-")  # the key that took it

    def post(_: int) -> int:
        r = client.post("/api/v1/payments", json=body, headers={"Idempotency-Key": "k-2"})
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, range(8)))
    assert codes == [201] * 8
    assert _count(db_url) == 2
    over = client.post(
        "/api/v1/payments",
        json={"account_no": "01000000001", "amount": 100_000, "method": "bank_slip"},
        headers={"Idempotency-Key": "k-3"},
    ).json()
    assert over["credit"] == 80_000
    led = client.get(f"/api/v1/customers/{cid}/ledger").json()
    assert (led["balance"], led["owed"], led["credit"]) == (-80_000, 0, 80_000)
    assert client.get(f"/api/v1/bills/{bill}").json()["state"] == "paid"
    last = client.get(f"/api/v1/customers/{cid}/payments").json()
    assert [p["amount"] for p in last] == [100_000, 50_000, 50_000]
    refund = client.post(
        f"/api/v1/payments/{over['id']}/refunds",
        json={"amount": 100_000, "reason": "paid twice"},
        headers={"Idempotency-Key": "rf-1"},
    )
    assert refund.status_code == 201
    assert refund.json()["status"] == "refunded"
    assert client.get(f"/api/v1/bills/{bill}").json()["state"] == "partially_paid"
    assert client.get(f"/api/v1/customers/{cid}/ledger").json()["owed"] == 20_000
    bad = client.post(
        "/api/v1/payments",
        json={"customer_id": 999, "amount": 1, "method": "cash"},
        headers={"Idempotency-Key": "k-4"},
    )
    assert bad.status_code == 404
    assert "999" in bad.text


def _batch(seq: int, *payments: tuple[str, str, str, int]) -> contract.FieldPaymentBatch:
    return contract.FieldPaymentBatch(
        gateway_id="gw-1",
        seq=seq,
        payments=tuple(
            contract.FieldPayment(
                payment_id=pid,
                account=acct,
                bill_id=bill,
                amount=amount,
                receipt_no=f"R{pid}",
                cashier="thu-ngan-7",
                ts=datetime(2025, 7, 19, 2, 0, tzinfo=UTC),
                signature="s",
            )
            for pid, acct, bill, amount in payments
        ),
    )


def test_field_cash_booked_exactly_once(client: Client, db_url: str) -> None:
    engine = make_engine(db_url)
    cid = add_customer(engine, 7)
    old = add_bill(engine, cid, 90_000, month=5)
    named = add_bill(engine, cid, 60_000, month=6)
    acct = "01000000007"
    store(engine, [_batch(1, ("p1", acct, str(named), 60_000), ("p2", acct, "", 40_000))])
    store(engine, [_batch(1, ("p1", acct, str(named), 60_000))])  # redelivered by MQTT
    store(engine, [_batch(2, ("p3", "01999999999", "", 5_000))])  # unknown account
    with ThreadPoolExecutor(3) as pool:  # sweeps racing each other
        results = list(pool.map(lambda _: field.sweep(engine, clock=clock), range(3)))
    assert sum(r.booked for r in results) == 3
    assert sum(r.unassigned for r in results) == 1
    assert field.sweep(engine, clock=clock).booked == 0
    engine.dispose()
    assert client.get(f"/api/v1/bills/{named}").json()["state"] == "paid"
    assert client.get(f"/api/v1/bills/{old}").json()["balance"] == 90_000
    assert client.get(f"/api/v1/customers/{cid}/ledger").json()["owed"] == 50_000
    pays = client.get(f"/api/v1/customers/{cid}/payments").json()
    assert sorted((p["provider_ref"], p["channel"], p["taken_by"]) for p in pays) == [
        ("p1", "field", "cashier:thu-ngan-7"),
        ("p2", "field", "cashier:thu-ngan-7"),
    ]
    assert client.post("/api/v1/payments/field/sweep").json() == {"booked": 0, "unassigned": 0}
    day = "2025-07-19"  # 09:00 in Vietnam
    view = client.get("/api/v1/payments/remittances", params={"day": day}).json()
    assert view == [
        {
            "cashier": "cashier:thu-ngan-7",
            "day": day,
            "receipts": 3,
            "expected": 105_000,
            "deposited": None,
            "difference": None,
            "status": "open",
            "recorded_by": None,
        }
    ]
    short = {"cashier": "cashier:thu-ngan-7", "day": day, "deposited": 100_000}
    r = client.post("/api/v1/payments/remittances", json=short)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["difference"]) == ("flagged", -5_000)
    assert (
        client.post("/api/v1/payments/remittances", json={**short, "deposited": 1}).status_code
        == 409
    )
