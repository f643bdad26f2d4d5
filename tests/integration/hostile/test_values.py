"""Values: ids past 63 bits, NUL and control characters, strings longer than their column,
counts below one, timestamps that overflow, tariff prices of 0 and 1e30. Each is a 422 naming
where, on SQLite and PostgreSQL, and the service goes on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from urllib.parse import quote

import pytest
from httpx import Client
from sqlalchemy import insert

from central.db.engine import make_engine
from central.db.models.billing import TariffVersionRow

HUGE = 2**63
IDS = [
    "/api/v1/customers/{}",
    "/api/v1/customers/{}/history",
    "/api/v1/customers/{}/meters",
    "/api/v1/customers/{}/bills",
    "/api/v1/customers/{}/consumption",
    "/api/v1/contracts/{}/files",
    "/api/v1/bills/{}",
    "/api/v1/billing/runs/{}",
    "/api/v1/billing/runs/{}/skipped",
    "/api/v1/readings/{}/corrections",
    "/api/v1/readings/{}/photo",
]


def test_ids_of_2_to_the_63_and_beyond_are_422_not_500(
    client: Client, still_works: Callable[[], None]
) -> None:
    for template in IDS:
        for value in (HUGE, 10**30, 0, -1):
            r = client.get(template.format(value))
            assert r.status_code == 422, (template, value, r.text)
            assert r.json()["detail"][0]["loc"][0] == "path", r.text
    r = client.get("/api/v1/customers/9223372036854775807")  # the largest id: just not found
    assert r.status_code == 404
    r = client.post(
        "/api/v1/customers",
        json={
            "utility_code": "ben-thanh",
            "account_no": "01234567891",
            "name": "A",
            "tariff_code": "hcmc-water-residential",
            "premise_id": HUGE,
        },
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "premise_id"]
    still_works()


@pytest.mark.parametrize("bad", ["a\x00b", "a\x07b", "a\x1bb", "a\x7fb"])
def test_nul_and_control_characters_are_refused_everywhere(
    client: Client, still_works: Callable[[], None], bad: str
) -> None:
    for path, body, loc in (
        ("/api/v1/stations", {"code": "S1", "name": bad}, ["body", "name"]),
        (
            "/api/v1/customers",
            {
                "utility_code": "ben-thanh",
                "account_no": "01234567891",
                "name": bad,
                "tariff_code": "hcmc-water-residential",
            },
            ["body", "name"],
        ),
        ("/api/v1/meters", {"meter_id": bad}, ["body", "meter_id"]),
        ("/api/v1/gateways/gw-1/commands", {"kind": bad}, ["body", "kind"]),
    ):
        r = client.post(path, json=body)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"][0]["loc"] == loc
    for path, params in (
        ("/api/v1/customers", {"q": bad}),
        ("/api/v1/customers/export", {"utility": bad}),
        ("/api/v1/ingest/conflicts", {"meter_id": bad}),
    ):
        r = client.get(path, params=params)
        assert r.status_code == 422, (path, r.text)
    r = client.get(f"/api/v1/meters/{quote(bad)}")
    assert r.status_code == 422, r.text
    still_works()


def test_strings_longer_than_their_column_are_422(
    client: Client, still_works: Callable[[], None]
) -> None:
    for path, body, field in (
        ("/api/v1/stations", {"code": "S1", "name": "x" * 201}, "name"),
        ("/api/v1/routes", {"code": "R9", "name": "r", "reader": "x" * 101}, "reader"),
        ("/api/v1/meters", {"meter_id": "M9", "brand": "x" * 65}, "brand"),
        ("/api/v1/premises", {"address": "x" * 301}, "address"),
        (
            "/api/v1/utilities",
            {"code": "ab", "name": "n", "account_pattern": "x" * 201},
            "account_pattern",
        ),
    ):
        r = client.post(path, json=body)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", field]
    r = client.get("/api/v1/customers", params={"q": "x" * 101})
    assert r.status_code == 422
    still_works()


@pytest.mark.parametrize("n", ["-1", "0", "121", "99999999999999999999"])
def test_counts_out_of_bounds_are_422(
    client: Client, still_works: Callable[[], None], n: str
) -> None:
    for path in ("/api/v1/customers/1/bills", "/api/v1/customers/1/consumption"):
        r = client.get(path, params={"n": n})
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"][0]["loc"] == ["query", "n"]
    r = client.get("/api/v1/ingest/quarantine", params={"limit": n if n != "121" else "10001"})
    assert r.status_code == 422
    assert client.get("/api/v1/customers/1/bills", params={"n": "3"}).status_code == 200
    still_works()


@pytest.mark.parametrize(
    "ts", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00", "2025-07-01T08:00:00"]
)
def test_timestamps_that_overflow_or_lack_an_offset_are_422(
    client: Client, still_works: Callable[[], None], ts: str
) -> None:
    r = client.post("/api/v1/readings/manual", json={"meter_id": "W-0001", "value": 1, "ts": ts})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "ts"]
    r = client.get("/api/v1/meters/W-0001/readings", params={"since": ts})
    assert r.status_code == 422, r.text
    r = client.post(
        "/api/v1/billing/runs", json={"period_start": "9999-12-01", "period_end": "9999-12-31"}
    )
    assert r.status_code == 422, r.text
    still_works()


VERSION = {
    "effective_from": "2026-01-01",
    "source": "test",
    "charge": {"kind": "flat", "price": "2000"},
}
QUOTE = {"consumption": 120, "period_start": "2026-02-01", "period_end": "2026-03-01"}


@pytest.mark.parametrize("price", ["0", "-1", "1e30", "NaN", "Infinity"])
def test_a_tariff_version_price_must_be_positive_and_bounded(
    client: Client, still_works: Callable[[], None], price: str
) -> None:
    bad = {**VERSION, "charge": {"kind": "flat", "price": price}}
    r = client.post("/api/v1/tariffs/evn-prepaid/versions", json=bad)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][:3] == ["body", "charge", "price"]
    tiered = {**VERSION, "charge": {"kind": "tiered", "blocks": [{"price": price}]}}
    r = client.post("/api/v1/tariffs/evn-prepaid/versions", json=tiered)
    assert r.status_code == 422, r.text
    r = client.post("/api/v1/tariffs/evn-prepaid/quote", json=QUOTE)
    assert r.status_code == 200, r.text
    still_works()


def test_a_bad_version_stored_earlier_never_makes_quotes_fail(client: Client, db_url: str) -> None:
    """A version stored before prices were bounded is left out of the catalog (and logged):
    quotes keep working on the versions that are good."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(TariffVersionRow),
                [
                    {
                        "tariff_code": "evn-prepaid",
                        "effective_from": date(2026, 1, 1),
                        "body": '{"effective_from": "2026-01-01", "source": "old", '
                        '"charge": {"kind": "flat", "price": "1e30"}}',
                        "created_by": "op",
                        "created_at": datetime(2025, 7, 1, tzinfo=UTC),
                    }
                ],
            )
    finally:
        engine.dispose()
    r = client.post("/api/v1/tariffs/evn-prepaid/quote", json=QUOTE)
    assert r.status_code == 200, r.text
    assert r.json()["lines"][0]["unit_price"] == 2909  # the shipped QĐ 1279 price
    good = client.post(
        "/api/v1/tariffs/evn-prepaid/versions", json={**VERSION, "effective_from": "2026-02-01"}
    )
    assert good.status_code == 201, good.text
    r = client.post("/api/v1/tariffs/evn-prepaid/quote", json=QUOTE)
    assert r.json()["lines"][0]["unit_price"] == 2000


def test_quote_inputs_are_bounded(client: Client) -> None:
    for body in (
        {**QUOTE, "consumption": 10**10},
        {**QUOTE, "prior_consumption": 10**30},
        {**QUOTE, "bands": {"peak": 1e300}},
    ):
        r = client.post("/api/v1/tariffs/evn-residential/quote", json=body)
        assert r.status_code == 422, r.text
