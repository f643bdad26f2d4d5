"""A small utility built over REST the way a clerk does it: the Bến Thành utility, a station
with a route, customers with meters, readings typed in from the reading app."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from httpx import Client

API = "/api/v1"
LOCAL = timedelta(hours=7)


def at(day: date, hour: int = 9, minute: int = 30) -> str:
    """``hour:minute`` in Vietnam on ``day``, as an ISO timestamp in UTC."""
    return (datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - LOCAL).isoformat()


def ok(r: Any, code: int = 200) -> Any:
    assert r.status_code == code, r.text
    return r.json()


def utility(c: Client, *, station: str = "S1", routes: tuple[str, ...] = ("R1",)) -> None:
    ok(
        c.post(
            f"{API}/utilities",
            json={
                "code": "ben-thanh",
                "name": "Bến Thành Water Supply",
                "account_pattern": r"0[13]\d{9}",
                "account_hint": "11 digits starting 01 or 03",
            },
        ),
        201,
    )
    ok(c.post(f"{API}/stations", json={"code": station, "name": f"station {station}"}), 201)
    for code in routes:
        ok(
            c.post(
                f"{API}/routes",
                json={
                    "code": code,
                    "name": f"route {code}",
                    "station_code": station,
                    "reading_day": 10,
                },
            ),
            201,
        )


def customer(
    c: Client,
    n: int,
    *,
    tariff: str = "hcmc-water-residential",
    persons: int = 4,
    route: str = "R1",
    name: str | None = None,
    meter: str | None = None,
    quantity: str | None = "volume",
) -> dict[str, Any]:
    row = ok(
        c.post(
            f"{API}/customers",
            json={
                "utility_code": "ben-thanh",
                "account_no": f"01{n:09d}",
                "name": name or f"Khách hàng {n}",
                "tariff_code": tariff,
                "persons": persons,
                "route_code": route,
            },
        ),
        201,
    )
    if meter is not None:
        body: dict[str, Any] = {
            "meter_id": meter,
            "account_no": row["account_no"],
            "utility_code": "ben-thanh",
        }
        if quantity is not None:
            body["quantity"] = quantity
        ok(c.post(f"{API}/meters", json=body), 201)
    return row  # type: ignore[no-any-return]


def read(c: Client, meter: str, day: date, value: float, **extra: Any) -> dict[str, Any]:
    return ok(  # type: ignore[no-any-return]
        c.post(
            f"{API}/readings/manual",
            json={"meter_id": meter, "value": value, "ts": at(day), **extra},
        ),
        201,
    )


def run(c: Client, start: date, end: date, **extra: Any) -> dict[str, Any]:
    """Start a run and wait for it to end (polls its progress; 60 s at most)."""
    r = c.post(
        f"{API}/billing/runs",
        json={"period_start": start.isoformat(), "period_end": end.isoformat(), **extra},
    )
    assert r.status_code == 202, r.text
    return run_progress(c, r.json()["run_id"])


def run_progress(c: Client, run_id: int) -> dict[str, Any]:
    """Wait for a run to end (polls its progress; 60 s at most)."""
    deadline = time.monotonic() + 60
    while True:
        p: dict[str, Any] = c.get(f"{API}/billing/runs/{run_id}").json()
        if p["status"] == "done":
            return p
        assert time.monotonic() < deadline, f"run {run_id} did not end: {p}"
        time.sleep(0.05)


def skips(c: Client, run_id: int) -> dict[int, str]:
    rows = ok(c.get(f"{API}/billing/runs/{run_id}/skipped"))
    return {s["customer_id"]: s["reason"] for s in rows}


def bills_of(c: Client, customer_id: int) -> list[dict[str, Any]]:
    return ok(c.get(f"{API}/customers/{customer_id}/bills"))  # type: ignore[no-any-return]
