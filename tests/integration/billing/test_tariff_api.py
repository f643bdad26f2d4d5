"""The quote API and tariff editing over REST, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from httpx import Client

from tests.support.central_app import central_client


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with central_client(db_url) as c:
        yield c


def test_list_tariffs_names_kinds_decisions_and_versions(client: Client) -> None:
    r = client.get("/api/v1/tariffs")
    assert r.status_code == 200
    by_code = {t["code"]: t for t in r.json()}
    evn = by_code["evn-residential"]
    assert evn["kind"] == "tiered_per_household"
    assert evn["source"] == "QĐ 1279/QĐ-BCT"
    assert [(v["effective_from"], v["source"]) for v in evn["versions"]] == [
        ("2024-10-11", "QĐ 2699/QĐ-BCT"),
        ("2025-05-10", "QĐ 1279/QĐ-BCT"),
    ]
    assert by_code["hcmc-water-residential"]["kind"] == "tiered_per_person"
    assert by_code["evn-prepaid"]["kind"] == "flat"
    assert by_code["zhejiang-residential"]["currency"] == "CNY"


def test_quote_evn_exactly_as_specified(client: Client) -> None:
    # 250 kWh in June 2025: 99,200 + 102,500 + 238,000 + 149,900 = 589,600; VAT 8% 47,168
    r = client.post(
        "/api/v1/tariffs/evn-residential/quote",
        json={"consumption": 250, "period_start": "2025-06-01", "period_end": "2025-07-01"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"lines", "subtotal", "taxes", "total", "currency"}
    assert body["lines"][0] == {
        "description": "Bậc 1 (0–50 kWh)",
        "quantity": 50,
        "unit_price": 1984,
        "amount": 99200,
    }
    assert [ln["amount"] for ln in body["lines"]] == [99_200, 102_500, 238_000, 149_900]
    assert body["subtotal"] == 589_600
    assert body["taxes"] == [
        {"description": "VAT", "base": 589_600, "rate": 0.08, "amount": 47_168}
    ]
    assert body["total"] == 636_768
    assert body["currency"] == "VND"


def test_quote_water_by_persons_and_cny_in_fen(client: Client) -> None:
    r = client.post(
        "/api/v1/tariffs/hcmc-water-residential/quote",
        json={
            "consumption": 20,
            "period_start": "2025-06-01",
            "period_end": "2025-07-01",
            "persons": 4,
        },
    )
    assert r.json()["total"] == 218_191
    r = client.post(
        "/api/v1/tariffs/zhejiang-residential/quote",
        json={"consumption": 7, "period_start": "2024-01-01", "period_end": "2024-02-01"},
    )
    assert r.json()["lines"][0]["unit_price"] == 53.8
    assert r.json()["total"] == 377
    assert r.json()["currency"] == "CNY"


@pytest.mark.parametrize(
    ("code", "body", "status", "detail"),
    [
        (
            "nope",
            {"consumption": 1, "period_start": "2025-06-01", "period_end": "2025-07-01"},
            404,
            "no tariff 'nope'",
        ),
        (
            "evn-residential",
            {"consumption": 1, "period_start": "2025-07-01", "period_end": "2025-06-01"},
            422,
            "must be after",
        ),
        (
            "hcmc-water-residential",
            {"consumption": 1, "period_start": "2025-06-01", "period_end": "2025-07-01"},
            422,
            "give persons",
        ),
        (
            "evn-residential",
            {"consumption": 1, "period_start": "2020-06-01", "period_end": "2020-07-01"},
            422,
            "no version in force",
        ),
    ],
)
def test_quote_errors_say_why(
    client: Client, code: str, body: dict[str, object], status: int, detail: str
) -> None:
    r = client.post(f"/api/v1/tariffs/{code}/quote", json=body)
    assert r.status_code == status
    assert detail in r.json()["detail"]


def test_negative_consumption_is_a_validation_error(client: Client) -> None:
    r = client.post(
        "/api/v1/tariffs/evn-prepaid/quote",
        json={"consumption": -1, "period_start": "2025-06-01", "period_end": "2025-07-01"},
    )
    assert r.status_code == 422


def test_a_new_version_changes_quotes_from_its_date(client: Client) -> None:
    new = {
        "effective_from": "2026-01-01",
        "source": "price update 2026",
        "charge": {"kind": "flat", "price": "15000", "label": "Administrative"},
    }
    r = client.post("/api/v1/tariffs/hcmc-water-administrative/versions", json=new)
    assert r.status_code == 201, r.text
    assert (
        client.post("/api/v1/tariffs/hcmc-water-administrative/versions", json=new).status_code
        == 409
    )
    detail = client.get("/api/v1/tariffs/hcmc-water-administrative").json()
    assert [v["effective_from"] for v in detail["versions"]] == ["2025-01-01", "2026-01-01"]
    # taxes carried over from the 2025 version: 10 m³ × 15,000 = 150,000; VAT 7,500;
    # drainage 45,000; its VAT 3,600 → 206,100
    r = client.post(
        "/api/v1/tariffs/hcmc-water-administrative/quote",
        json={"consumption": 10, "period_start": "2026-01-01", "period_end": "2026-02-01"},
    )
    assert r.json()["total"] == 206_100
    # a period across the change: 31 days, 10 m³, change after 15 days:
    # old = round(10×15/31) = round(4.84) = 5 m³ × 13,000 = 65,000; new 5 × 15,000 = 75,000
    r = client.post(
        "/api/v1/tariffs/hcmc-water-administrative/quote",
        json={"consumption": 10, "period_start": "2025-12-17", "period_end": "2026-01-17"},
    )
    assert [ln["amount"] for ln in r.json()["lines"]] == [65_000, 75_000]


def test_bad_versions_are_refused(client: Client) -> None:
    bad = {
        "effective_from": "2026-01-01",
        "charge": {"kind": "tiered", "blocks": [{"width": 5, "price": "1"}]},
    }
    r = client.post("/api/v1/tariffs/evn-residential/versions", json=bad)
    assert r.status_code == 422
    assert "unbounded" in r.json()["detail"]
    r = client.post(
        "/api/v1/tariffs/evn-residential/versions", json={**bad, "charge": {"kind": "flat"}}
    )
    assert r.status_code == 422
