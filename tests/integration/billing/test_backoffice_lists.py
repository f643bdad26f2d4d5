"""What a clerk can see, on SQLite and PostgreSQL: paged, filtered and sorted lists of
customers, meters, routes, stations, contracts, readings (with reader, GPS and photo, and
GeoJSON per route), bills and runs; the reading app's bulk sync; service history; a run's
bills and skips in Excel."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from httpx import Client
from openpyxl import load_workbook

from tests.support import clerk
from tests.support.central_app import central_client

API = clerk.API
MAY, JUNE = date(2025, 5, 10), date(2025, 6, 10)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with central_client(db_url, now=datetime(2025, 7, 20, 3, 0, tzinfo=UTC)) as c:
        clerk.utility(c, routes=("R1", "R2"))
        yield c


def _get(c: Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    r = c.get(f"{API}{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json(), int(r.headers["X-Total-Count"])


def _reading(meter: str, day: date, value: float, **extra: Any) -> dict[str, Any]:
    return {"meter_id": meter, "value": value, "ts": clerk.at(day), **extra}


def test_lists_page_filter_and_sort(client: Client) -> None:
    for n in range(1, 8):
        clerk.customer(client, n, meter=f"W{n}", route="R1" if n <= 5 else "R2")
    page1, total = _get(client, "/customers", limit=3, sort="-account_no")
    assert total == 7
    assert [c["account_no"] for c in page1] == ["01000000007", "01000000006", "01000000005"]
    page3, _ = _get(client, "/customers", limit=3, offset=6, sort="-account_no")
    assert [c["account_no"] for c in page3] == ["01000000001"]
    on_r2, total = _get(client, "/customers", route_code="R2")
    assert (total, [c["account_no"] for c in on_r2]) == (2, ["01000000006", "01000000007"])
    assert client.get(f"{API}/customers", params={"sort": "password"}).status_code == 422
    meters, total = _get(client, "/meters", meter_id="W", limit=2)
    assert (total, [m["meter_id"] for m in meters]) == (7, ["W1", "W2"])
    assert _get(client, "/meters", customer_id=6)[0][0]["meter_id"] == "W6"
    routes, total = _get(client, "/routes", station_code="S1")
    assert (total, [(r["code"], r["station_code"]) for r in routes]) == (
        2,
        [("R1", "S1"), ("R2", "S1")],
    )
    stations, _ = _get(client, "/stations")
    assert [s["code"] for s in stations] == ["S1"]
    for number in ("HD-2", "HD-1"):
        clerk.ok(client.post(f"{API}/customers/1/contracts", json={"number": number}), 201)
    contracts, total = _get(client, "/customers/1/contracts", sort="number")
    assert (total, [k["number"] for k in contracts]) == (2, ["HD-1", "HD-2"])
    assert client.get(f"{API}/customers/99/contracts").status_code == 404


def test_bulk_sync_is_idempotent_per_reading_and_readings_list_by_route_and_reader(
    client: Client,
) -> None:
    for n in (1, 2, 3):
        clerk.customer(client, n, meter=f"W{n}", route="R1" if n < 3 else "R2")
    photo = base64.b64encode(JPEG).decode()
    batch = [
        _reading("W1", MAY, 100, reader="Lan", latitude=10.77, longitude=106.70),
        _reading(
            "W1", JUNE, 112, reader="Lan", latitude=10.77, longitude=106.70, photo_base64=photo
        ),
        _reading("W2", JUNE, 50, reader="Minh"),
        _reading("NOPE", JUNE, 1),
        _reading("W3", JUNE, -5),
        _reading("W3", JUNE, 30, reader="Minh", latitude=10.8, longitude=106.6),
    ]
    first = clerk.ok(client.post(f"{API}/readings/sync", json={"readings": batch}))
    assert [r["status"] for r in first] == ["created"] * 3 + ["error", "error", "created"]
    assert (first[3]["field"], first[3]["reason"]) == ("meter_id", "no meter 'NOPE'")
    assert first[4]["field"] == "value"
    # the app sends the same batch again (its answer was lost): nothing is stored twice
    again = clerk.ok(client.post(f"{API}/readings/sync", json={"readings": batch}))
    assert [r["status"] for r in again] == ["duplicate"] * 3 + ["error", "error", "duplicate"]
    assert [r["id"] for r in again if r["status"] == "duplicate"] == [
        r["id"] for r in first if r["status"] == "created"
    ]
    changed = clerk.ok(
        client.post(f"{API}/readings/sync", json={"readings": [_reading("W2", JUNE, 51)]})
    )
    assert (changed[0]["status"], changed[0]["field"]) == ("error", "value")
    assert changed[0]["reason"].endswith("at this time is 50.0")
    june, total = _get(client, "/readings", period_start="2025-06-10", period_end="2025-06-10")
    assert total == 3
    assert {r["meter_id"] for r in june} == {"W1", "W2", "W3"}
    on_r1, total = _get(client, "/readings", route_code="R1", sort="ts")
    assert total == 3
    # by time, then by id (W1 and W2 were read at the same minute on 10/06)
    assert [(r["meter_id"], r["value"], r["reader"]) for r in on_r1] == [
        ("W1", 100, "Lan"),
        ("W1", 112, "Lan"),
        ("W2", 50, "Minh"),
    ]
    by_minh, total = _get(client, "/readings", reader="Minh", sort="meter_id")
    assert (total, [r["meter_id"] for r in by_minh]) == (2, ["W2", "W3"])
    w1 = {r["value"]: r for r in _get(client, "/readings", meter_id="W1")[0]}
    assert (w1[112]["latitude"], w1[112]["longitude"]) == (10.77, 106.70)
    assert w1[100]["photo"] is None
    shot = client.get(w1[112]["photo"])
    assert (shot.status_code, shot.content) == (200, JPEG)
    geo = client.get(
        f"{API}/routes/R1/readings.geojson",
        params={"period_start": "2025-06-10", "period_end": "2025-06-10"},
    )
    assert geo.headers["content-type"].startswith("application/geo+json")
    features = geo.json()["features"]
    assert [f["geometry"]["coordinates"] for f in features] == [[106.70, 10.77]]
    assert features[0]["properties"]["photo"] == w1[112]["photo"]
    assert features[0]["properties"]["account_no"] == "01000000001"


def test_bills_and_runs_lists_and_the_run_export(client: Client) -> None:
    for n in (1, 2, 3):
        clerk.customer(client, n, meter=f"W{n}", route="R1" if n < 3 else "R2")
        clerk.read(client, f"W{n}", MAY, 10 * n)
        if n != 2:
            clerk.read(client, f"W{n}", JUNE, 10 * n + 7)
    r1 = clerk.run(client, MAY, JUNE, route_code="R1")
    r2 = clerk.run(client, MAY, JUNE, route_code="R2")
    runs, total = _get(client, "/billing/runs")
    assert (total, [r["run_id"] for r in runs]) == (2, [r2["run_id"], r1["run_id"]])
    bills, total = _get(client, "/bills", run_id=r1["run_id"])
    assert (total, [b["account_no"] for b in bills]) == (1, ["01000000001"])
    all_bills, total = _get(client, "/bills", period_end="2025-06-10", sort="-total")
    assert total == 2
    assert all_bills[0]["total"] >= all_bills[1]["total"]
    assert _get(client, "/bills", route_code="R2")[1] == 1
    clerk.ok(client.post(f"{API}/billing/runs/{r2['run_id']}/issue"))
    assert [b["account_no"] for b in _get(client, "/bills", state="issued")[0]] == ["01000000003"]
    assert _get(client, "/bills", state="draft")[1] == 1
    xlsx = client.get(f"{API}/billing/runs/{r1['run_id']}/export")
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.content))
    bills_sheet = list(wb["bills"].iter_rows(values_only=True))
    assert bills_sheet[0][:3] == ("bill_id", "account_no", "customer")
    assert [(r[1], r[7], r[12]) for r in bills_sheet[1:]] == [("01000000001", 7, bills[0]["total"])]
    skipped = list(wb["skipped"].iter_rows(values_only=True))
    assert skipped[1:] == [
        (2, "01000000002", "Khách hàng 2", "no closing reading and no history to estimate from")
    ]
    assert client.get(f"{API}/billing/runs/999/export").status_code == 404


def test_service_history_as_typed_events(client: Client) -> None:
    cust = clerk.customer(client, 1, meter="OLD")
    clerk.customer(client, 2)
    cid = cust["id"]
    patch = {"route_code": "R2", "reason": "moved to the other side of the street"}
    clerk.ok(client.patch(f"{API}/customers/{cid}", json=patch))
    clerk.ok(client.patch(f"{API}/customers/{cid}", json={"phone": "0909", "reason": "new phone"}))
    clerk.ok(client.patch(f"{API}/customers/{cid}", json={"status": "suspended", "reason": "debt"}))
    clerk.ok(client.patch(f"{API}/customers/{cid}", json={"status": "active", "reason": "paid"}))
    exchange = {
        "new": {"meter_id": "NEW"},
        "exchanged_at": clerk.at(JUNE),
        "old_final_value": 5,
    }
    clerk.ok(client.post(f"{API}/meters/OLD/exchange", json=exchange), 201)
    events, total = _get(client, f"/customers/{cid}/events")
    assert [e["type"] for e in events] == [
        "connection",
        "installation",
        "station_transfer",
        "information_change",
        "suspension",
        "connection",
        "meter_change",
    ]
    assert total == 7
    assert (events[-1]["old_value"], events[-1]["new_value"]) == ("OLD", "NEW")
    everyone, total = _get(client, "/events", type="connection")
    assert total == 3  # two accounts created, one reconnected
    assert {e["account_no"] for e in everyone} == {"01000000001", "01000000002"}
    assert client.get(f"{API}/events", params={"type": "party"}).status_code == 422
