"""Billing over REST on SQLite and PostgreSQL: a run with progress, bill states, adjustments
and credit notes, a correction then cancel and rebill, an estimate corrected by an actual
reading, the last 12 bills and the consumption chart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from httpx import Client
from sqlalchemy.orm import Session

from central.db.engine import make_engine
from central.db.models.records import CustomerRow
from tests.support.billing_seed import seed
from tests.support.central_app import central_client


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with central_client(db_url, now=datetime(2025, 7, 20, 3, 0, tzinfo=UTC)) as c:
        engine = make_engine(db_url)
        seed(engine, 60, routes=3, seed_value=11)
        engine.dispose()
        yield c


def _run(client: Client, **extra: Any) -> dict[str, Any]:
    r = client.post(
        "/api/v1/billing/runs",
        json={"period_start": "2025-06-12", "period_end": "2025-07-12", "chunk_size": 7, **extra},
    )
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    deadline = time.monotonic() + 30
    while True:
        p: dict[str, Any] = client.get(f"/api/v1/billing/runs/{run_id}").json()
        if p["status"] == "done" or time.monotonic() > deadline:
            return p
        time.sleep(0.05)


def test_a_run_by_route_then_the_life_of_a_bill(client: Client, db_url: str) -> None:
    p = _run(client, route_code="R002")
    # seed: customer i is on route i % 3 + 1 → route R002 holds i = 1, 4, ..., 58 (20)
    assert (p["status"], p["accounts"], p["accounts_done"], p["percent"]) == ("done", 20, 20, 100.0)
    assert p["bills"] + p["skipped"] == 20
    skipped = client.get(f"/api/v1/billing/runs/{p['run_id']}/skipped").json()
    assert [s["customer_id"] for s in skipped] == [7]  # the seed's account without readings
    assert client.post(f"/api/v1/billing/runs/{p['run_id']}/issue").json() == {"issued": 19}
    bills = client.get("/api/v1/customers/4/bills").json()
    assert len(bills) == 1
    bill = bills[0]
    assert bill["state"] == "issued"
    assert sum(ln["amount"] for ln in bill["lines"]) == bill["total"] == bill["balance"]
    bid = bill["id"]
    # an adjustment, then a credit note, each named and signed
    r = client.post(
        f"/api/v1/bills/{bid}/adjustments", json={"amount": 5000, "reason": "late payment fee"}
    )
    assert r.status_code == 201
    r = client.post(
        f"/api/v1/bills/{bid}/adjustments",
        json={"amount": -2000, "kind": "credit_note", "reason": "goodwill"},
    )
    assert r.json()["balance"] == bill["total"] + 3000
    me = client.get("/api/v1/auth/me").json()["name"]  # the client's API key
    assert me.startswith("key:test-admin")
    assert [a["by"] for a in r.json()["adjustments"]] == [me, me]
    too_much = client.post(
        f"/api/v1/bills/{bid}/adjustments",
        json={"amount": -(10**9), "kind": "credit_note", "reason": "oops"},
    )
    assert too_much.status_code == 409
    assert (
        client.post(
            f"/api/v1/bills/{bid}/adjustments",
            json={"amount": 5, "kind": "credit_note", "reason": "wrong"},
        ).status_code
        == 409
    )
    balance = r.json()["balance"]
    pay = f"/api/v1/bills/{bid}/pay"
    part = client.post(
        pay, json={"amount": 1000, "method": "cash"}, headers={"Idempotency-Key": "p1"}
    )
    assert part.json()["state"] == "partially_paid", part.text
    rest = {"amount": balance - 1000, "method": "card"}
    paid = client.post(pay, json=rest, headers={"Idempotency-Key": "p2"}).json()
    assert paid["state"] == "paid"
    assert client.post(f"/api/v1/bills/{bid}/cancel", json={"reason": "x" * 5}).status_code == 409
    chart = client.get("/api/v1/customers/4/consumption").json()
    assert [c["consumption"] for c in chart] == [bill["consumption"]]


def test_a_correction_then_cancel_and_rebill(client: Client) -> None:
    _run(client)
    bill = client.get("/api/v1/customers/5/bills").json()[0]
    readings = client.get(f"/api/v1/readings/meter/{bill['meter_id']}").json()
    closing = readings[0]  # newest first
    assert closing["value"] == bill["current_index"] + 0.25
    r = client.post(
        f"/api/v1/readings/{closing['id']}/corrections",
        json={"value": closing["value"] + 10, "reason": "photo shows 10 more"},
    )
    assert r.status_code == 201
    new = client.post(
        f"/api/v1/bills/{bill['id']}/rebill", json={"reason": "index corrected"}
    ).json()
    assert new["replaces_id"] == bill["id"]
    assert new["consumption"] == bill["consumption"] + 10
    assert new["total"] > bill["total"]
    old = client.get(f"/api/v1/bills/{bill['id']}").json()
    assert old["state"] == "cancelled"
    me = client.get("/api/v1/auth/me").json()["name"]
    assert old["cancel_reason"] == f"index corrected (by {me})"
    assert [b["id"] for b in client.get("/api/v1/customers/5/bills").json()] == [new["id"]]


def test_an_actual_reading_corrects_an_estimated_bill(client: Client, db_url: str) -> None:
    _run(client)
    # customer 3 has no closing reading in the seed: billed on an estimate
    bill = client.get("/api/v1/customers/3/bills").json()[0]
    assert bill["estimated"] is True
    assert "estimated" in bill["flags"]
    assert client.post("/api/v1/customers/3/correct-estimates").json() == []  # nothing new yet
    # the reader comes late: an actual reading 4 days after the period end
    r = client.post(
        "/api/v1/readings/manual",
        json={
            "meter_id": bill["meter_id"],
            "value": bill["previous_index"] + 34.25,
            "ts": "2025-07-16T02:30:00Z",
            "reader": "Hùng",
        },
    )
    assert r.status_code == 201, r.text
    pairs = client.post("/api/v1/customers/3/correct-estimates").json()
    assert len(pairs) == 1
    assert pairs[0]["cancelled"] == bill["id"]
    new = client.get(f"/api/v1/bills/{pairs[0]['new']}").json()
    assert new["estimated"] is False
    assert new["flags"] == ["prorated"]
    # prorated between the opening (06-12 09:30 +07) and the actual (07-16 09:30 +07):
    # 34 days, 30 of them to the period end (07-13 00:00 +07 is 30 days 14.5 h) → ~30.6 m³
    assert 29 <= new["consumption"] <= 31
    engine = make_engine(db_url)
    with Session(engine) as s:
        assert s.get(CustomerRow, 3) is not None
    engine.dispose()


def test_validate_flags_a_meter(client: Client) -> None:
    client.post(
        "/api/v1/readings/manual",
        json={"meter_id": "M00000001", "value": 1.0, "ts": "2025-07-13T00:00:00Z"},
    )
    flags = client.post("/api/v1/meters/M00000001/validate").json()
    assert "negative" in {f["flag"] for f in flags}
    assert client.post("/api/v1/meters/nope/validate").status_code == 404
