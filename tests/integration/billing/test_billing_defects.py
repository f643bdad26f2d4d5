"""A clerk's month on SQLite and PostgreSQL: a period is billed once per account, cancel then
rebill works for one account, the meter in service bills the period (an exchange inside it
bills both meters), two meters in service are refused loudly, route and station together are
refused, extreme values are skipped and a run always ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from httpx import Client
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.billing import runs
from central.db.engine import make_engine
from central.db.models.billing import BillRow
from central.tariffs.catalog import Catalog, load_dir
from m2c.cli import main
from tests.support import clerk
from tests.support.central_app import central_client

MAY, JUNE, JULY = date(2025, 5, 10), date(2025, 6, 10), date(2025, 7, 10)
NOW = datetime(2025, 7, 20, 3, 0, tzinfo=UTC)
API = clerk.API


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with central_client(db_url, now=NOW) as c:
        clerk.utility(c, routes=("R1", "R2"))
        yield c


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _billed_customer(c: Client, n: int = 1, route: str = "R1") -> dict[str, object]:
    cust = clerk.customer(c, n, meter=f"W{n}", route=route)
    clerk.read(c, f"W{n}", MAY, 100)
    clerk.read(c, f"W{n}", JUNE, 110)
    return cust


def test_a_period_is_billed_once_per_account(client: Client, engine: Engine) -> None:
    cust = _billed_customer(client)
    first = clerk.run(client, MAY, JUNE, route_code="R1")
    assert (first["bills"], first["skipped"]) == (1, 0)
    bill = clerk.bills_of(client, int(str(cust["id"])))[0]
    # 4 persons: 10 m³ within 4 × 4 m³ → 10 × 6,700 = 67,000 before taxes
    assert bill["subtotal"] == 67_000
    again = clerk.run(client, MAY, JUNE, route_code="R1")
    assert again["run_id"] != first["run_id"]
    assert (again["bills"], again["skipped"]) == (0, 1)
    reason = clerk.skips(client, again["run_id"])[cust["id"]]  # type: ignore[index]
    assert reason == f"already billed for 2025-05-10–2025-06-10 (bill {bill['id']})"
    everyone = clerk.run(client, MAY, JUNE)  # a whole-utility run does not bill it again
    assert (everyone["bills"], everyone["skipped"]) == (0, 1)
    assert len(clerk.bills_of(client, int(str(cust["id"])))) == 1
    # the database refuses a second standing bill for the account and period outright
    with Session(engine) as s:
        row = s.get(BillRow, bill["id"])
        assert row is not None
        twin = BillRow(
            **{
                k: getattr(row, k)
                for k in BillRow.__table__.columns.keys()  # noqa: SIM118
                if k not in ("id", "run_id")
            }
        )
        s.add(twin)
        with pytest.raises(IntegrityError):
            s.flush()


def test_cancel_then_rebill_one_account(client: Client) -> None:
    cust = _billed_customer(client)
    _billed_customer(client, 2)
    clerk.run(client, MAY, JUNE, route_code="R1")
    bill = clerk.bills_of(client, int(str(cust["id"])))[0]
    clerk.ok(client.post(f"{API}/bills/{bill['id']}/cancel", json={"reason": "wrong index"}))
    new = clerk.ok(
        client.post(f"{API}/bills/{bill['id']}/rebill", json={"reason": "rebill after cancel"}),
        201,
    )
    assert (new["replaces_id"], new["state"], new["run_id"]) == (bill["id"], "draft", None)
    assert new["total"] == bill["total"]
    # the cancelled bill cannot be billed a second time: the new one stands
    again = client.post(f"{API}/bills/{bill['id']}/rebill", json={"reason": "twice"})
    assert again.status_code == 422
    assert f"already billed for 2025-05-10–2025-06-10 (bill {new['id']})" in again.text
    # the other account on the route is untouched
    assert [b["replaces_id"] for b in clerk.bills_of(client, 2)] == [None]
    assert [b["id"] for b in clerk.bills_of(client, int(str(cust["id"])))] == [new["id"]]


def test_the_meter_in_service_bills_the_period(client: Client) -> None:
    cust = clerk.customer(client, 3, meter="OLD")
    clerk.read(client, "OLD", MAY, 100)
    clerk.read(client, "OLD", JUNE, 120)
    clerk.ok(
        client.post(
            f"{API}/meters/OLD/exchange",
            json={
                "new": {"meter_id": "NEW"},
                "exchanged_at": clerk.at(date(2025, 6, 25), 10),
                "old_final_value": 128,
                "new_initial_value": 0,
            },
        ),
        201,
    )
    clerk.read(client, "NEW", JULY, 7)
    # the period before the exchange: the old meter had both readings
    may = clerk.run(client, MAY, JUNE, route_code="R1")
    assert (may["bills"], may["skipped"]) == (1, 0)
    # the period with the exchange inside: (128 − 120) + (7 − 0) = 15 m³
    june = clerk.run(client, JUNE, JULY, route_code="R1")
    assert (june["bills"], june["skipped"]) == (1, 0)
    b_june, b_may = clerk.bills_of(client, int(str(cust["id"])))
    assert (b_may["meter_id"], b_may["consumption"]) == ("OLD", 20)
    assert (b_june["meter_id"], b_june["consumption"]) == ("NEW", 15)
    assert "meter_exchanged" in b_june["flags"]
    # the new meter measures what the old one did (volume), not the electricity default
    assert clerk.ok(client.get(f"{API}/meters/NEW"))["quantity"] == "volume"


def test_two_meters_in_service_are_refused_loudly(client: Client) -> None:
    cust = clerk.customer(client, 4, meter="A4")
    clerk.ok(
        client.post(
            f"{API}/meters",
            json={"meter_id": "B4", "account_no": cust["account_no"], "utility_code": "ben-thanh"},
        ),
        201,
    )
    for m in ("A4", "B4"):
        clerk.read(client, m, MAY, 10)
        clerk.read(client, m, JUNE, 20)
    p = clerk.run(client, MAY, JUNE)
    assert (p["bills"], p["skipped"]) == (0, 1)
    assert clerk.skips(client, p["run_id"])[cust["id"]] == (
        "2 meters in service (A4, B4): record the exchange or end one"
    )


def test_route_and_station_together_and_impossible_periods_are_refused(client: Client) -> None:
    both = client.post(
        f"{API}/billing/runs",
        json={
            "period_start": "2025-05-10",
            "period_end": "2025-06-10",
            "route_code": "R1",
            "station_code": "S1",
        },
    )
    assert both.status_code == 422
    assert "not both" in both.json()["detail"]
    # a year no date column or conversion holds is refused by the request's schema, by field
    far = client.post(
        f"{API}/billing/runs", json={"period_start": "9999-11-10", "period_end": "9999-12-31"}
    )
    assert far.status_code == 422
    refused = {tuple(i["loc"]): i["input"] for i in far.json()["detail"]}
    assert refused == {
        ("body", "period_start"): "9999-11-10",
        ("body", "period_end"): "9999-12-31",
    }
    # a date the schema takes but no billing period can hold is refused by the run, by field
    late = client.post(
        f"{API}/billing/runs", json={"period_start": "2150-11-10", "period_end": "2150-12-10"}
    )
    assert late.status_code == 422
    assert late.json()["field"] == "period_start"
    assert "period_start: 2150-11-10 is outside 2000–2100" in late.json()["detail"]


def test_an_extreme_reading_is_skipped_and_the_run_ends(client: Client) -> None:
    _billed_customer(client, 5)
    huge = clerk.customer(client, 6, meter="W6")
    clerk.read(client, "W6", MAY, 100)
    # a value no meter register holds is refused at the door, naming the field
    refused = client.post(
        f"{API}/readings/manual",
        json={"meter_id": "W6", "value": 1e308, "ts": clerk.at(JUNE)},
    )
    assert refused.status_code == 422
    assert [i["loc"] for i in refused.json()["detail"]] == [["body", "value"]]
    # the largest value the door takes is still a consumption no bill can carry
    clerk.read(client, "W6", JUNE, 999_999_999_999)
    p = clerk.run(client, MAY, JUNE)
    assert (p["status"], p["bills"], p["skipped"], p["failed"]) == ("done", 1, 1, 0)
    assert clerk.skips(client, p["run_id"])[huge["id"]].startswith("implausible consumption")


class _Unreachable(Catalog):
    """A catalog whose one tariff cannot be read (a broken store behind it)."""

    def __contains__(self, code: object) -> bool:
        if code == "hcmc-water-business":
            raise RuntimeError("tariff store unreachable")
        return super().__contains__(code)


def test_a_chunk_that_fails_is_listed_and_the_run_still_ends(
    client: Client, engine: Engine
) -> None:
    _billed_customer(client, 7)
    clerk.customer(client, 8, meter="W8", tariff="hcmc-water-business")
    clerk.read(client, "W8", MAY, 1)
    clerk.read(client, "W8", JUNE, 2)
    with Session(engine) as s:
        run_id = runs.create_run(s, MAY, JUNE, clock=lambda: NOW, chunk_size=1).id
    runs.work(engine, run_id, _Unreachable(load_dir().tariffs), clock=lambda: NOW)
    p = clerk.ok(client.get(f"{API}/billing/runs/{run_id}"))
    assert (p["status"], p["chunks"], p["bills"], p["failed"]) == ("done", 2, 1, 1)
    assert p["errors"] == [
        f"chunk {p['errors'][0].split()[1]} (customers 2–2): RuntimeError: tariff store unreachable"
    ]
    with Session(engine) as s:
        assert s.scalars(select(BillRow.customer_id)).all() == [1]


def test_a_route_reading_is_done_on_its_reading_date(client: Client) -> None:
    plan = clerk.ok(
        client.post(f"{API}/routes/R1/schedule", json={"start": "2025-05-01", "months": 3}), 201
    )
    assert plan == ["2025-05-10", "2025-06-10", "2025-07-10"]
    done = clerk.ok(client.post(f"{API}/routes/R1/schedule/2025-06-10/done"))
    assert done["last_readings"] == ["2025-06-10"]  # not the day it was marked (2025-07-20)
    late = clerk.ok(client.post(f"{API}/routes/R1/schedule/2025-07-10/done?read_on=2025-07-11"))
    assert late["last_readings"] == ["2025-07-11", "2025-06-10"]


def test_cli_quote_sees_versions_added_over_rest(
    client: Client, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    higher = {
        "effective_from": "2025-06-25",
        "source": "test: higher prices",
        "charge": {
            "kind": "tiered",
            "scale": "persons",
            "blocks": [
                {"width": 4, "price": "7000"},
                {"width": 2, "price": "13500"},
                {"price": "15000"},
            ],
        },
    }
    clerk.ok(client.post(f"{API}/tariffs/hcmc-water-residential/versions", json=higher), 201)
    args = ["billing", "quote", "hcmc-water-residential", "--consumption", "12"]
    args += ["--period-start", "2025-06-10", "--period-end", "2025-07-10", "--persons", "1"]
    assert main([*args, "--db", db_url]) == 0
    # worked in tests/unit/tariffs/test_allowance_split.py: 69,500 + 72,500
    assert "142,000" in capsys.readouterr().out
    quoted = clerk.ok(
        client.post(
            f"{API}/tariffs/hcmc-water-residential/quote",
            json={
                "consumption": 12,
                "period_start": "2025-06-10",
                "period_end": "2025-07-10",
                "persons": 1,
            },
        )
    )
    assert quoted["subtotal"] == 142_000


def test_billing_uses_the_values_in_force_during_the_period(client: Client) -> None:
    cust = clerk.customer(client, 9, meter="W9", persons=4)
    for day, value in ((MAY, 100), (JUNE, 120), (JULY, 140)):
        clerk.read(client, "W9", day, value)
    # on 20/07 the clerk records: one person from 10/06, and the account moved to route R2
    patch = {"persons": 1, "route_code": "R2", "effective_from": "2025-06-10", "reason": "moved"}
    clerk.ok(client.patch(f"{API}/customers/{cust['id']}", json=patch))
    history = clerk.ok(client.get(f"{API}/customers/{cust['id']}/history"))
    dated = {h["field"]: h["effective_from"] for h in history if h["reason"] == "moved"}
    assert dated == {"persons": "2025-06-10", "route_id": "2025-06-10"}
    # May–June was on R1 with 4 persons: 20 m³ = 16 × 6,700 + 4 × 12,900 = 158,800
    assert clerk.run(client, MAY, JUNE, route_code="R2")["accounts"] == 0
    may = clerk.run(client, MAY, JUNE, route_code="R1")
    assert (may["accounts"], may["bills"]) == (1, 1)
    # June–July is on R2 with 1 person: 20 m³ = 4 × 6,700 + 2 × 12,900 + 14 × 14,400 = 254,200
    assert clerk.run(client, JUNE, JULY, route_code="R1")["accounts"] == 0
    june = clerk.run(client, JUNE, JULY, route_code="R2")
    assert (june["accounts"], june["bills"]) == (1, 1)
    b_june, b_may = clerk.bills_of(client, int(str(cust["id"])))
    assert (b_may["subtotal"], b_june["subtotal"]) == (158_800, 254_200)
    # back to R1 from 10/07: the periods before keep the routes they had
    back = {"route_code": "R1", "effective_from": "2025-07-10", "reason": "moved back"}
    clerk.ok(client.patch(f"{API}/customers/{cust['id']}", json=back))
    assert clerk.run(client, JUNE, JULY, route_code="R1")["accounts"] == 0
    assert clerk.run(client, MAY, JUNE, route_code="R1")["accounts"] == 1
    assert clerk.run(client, MAY, JUNE, route_code="R2")["accounts"] == 0
    assert clerk.run(client, JULY, date(2025, 8, 10), route_code="R1")["accounts"] == 1


def test_resume_tries_failed_chunks_again(client: Client, engine: Engine) -> None:
    _billed_customer(client, 7)
    clerk.customer(client, 8, meter="W8", tariff="hcmc-water-business")
    clerk.read(client, "W8", MAY, 1)
    clerk.read(client, "W8", JUNE, 2)
    with Session(engine) as s:
        run_id = runs.create_run(s, MAY, JUNE, clock=lambda: NOW, chunk_size=1).id
    runs.work(engine, run_id, _Unreachable(load_dir().tariffs), clock=lambda: NOW)
    assert clerk.ok(client.get(f"{API}/billing/runs/{run_id}"))["failed"] == 1
    # the store is back: resume takes the failed chunk again and the run ends clean
    resumed = clerk.ok(client.post(f"{API}/billing/runs/{run_id}/resume"), 202)
    assert resumed["failed"] == 0
    p = clerk.run_progress(client, run_id)
    assert (p["status"], p["bills"], p["failed"], p["errors"]) == ("done", 2, 0, [])


def test_the_same_run_again_while_unfinished_resumes_it(client: Client, engine: Engine) -> None:
    _billed_customer(client, 1)
    with Session(engine) as s:  # a run whose worker never came (a crash before any chunk)
        stalled = runs.create_run(s, MAY, JUNE, clock=lambda: NOW, route_id=1).id
    p = clerk.run(client, MAY, JUNE, route_code="R1")
    assert (p["run_id"], p["status"], p["bills"]) == (stalled, "done", 1)
    assert len(clerk.ok(client.get(f"{API}/billing/runs"))) == 1
