"""Customer records over REST on SQLite and PostgreSQL: the Bến Thành account rule, history,
meters and exchanges, routes and schedules, contracts with files, Excel, manual readings."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import pytest
from httpx import Client
from openpyxl import Workbook, load_workbook

from central.auth import Role
from tests.support.auth import user_client
from tests.support.central_app import central_client

BEN_THANH = {
    "code": "ben-thanh",
    "name": "Bến Thành Water Supply",
    "account_pattern": r"0[13]\d{9}",
    "account_hint": "11 digits starting 01 or 03",
}


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with central_client(db_url) as c:
        assert c.post("/api/v1/utilities", json=BEN_THANH).status_code == 201
        assert c.post("/api/v1/stations", json={"code": "Q1", "name": "Quận 1"}).status_code == 201
        r = c.post(
            "/api/v1/routes",
            json={"code": "Q1-07", "name": "Lê Lợi", "station_code": "Q1", "reading_day": 12},
        )
        assert r.status_code == 201
        yield c


def _customer(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "utility_code": "ben-thanh",
        "account_no": "01234567890",
        "name": "Nguyễn Văn An",
        "address": "12 Lê Lợi, Q1",
        "phone": "0909123456",
        "tariff_code": "hcmc-water-residential",
        "persons": 4,
        "route_code": "Q1-07",
    }
    body.update(over)
    return body


def test_customers_follow_the_account_rule_and_keep_a_history(client: Client, db_url: str) -> None:
    premise = client.post(
        "/api/v1/premises",
        json={"address": "12 Lê Lợi, Q1", "latitude": 10.77, "route_code": "Q1-07"},
    )
    assert premise.status_code == 201
    r = client.post("/api/v1/customers", json=_customer(premise_id=premise.json()["id"]))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["premise_id"] == premise.json()["id"]
    assert (
        client.post(
            "/api/v1/customers", json=_customer(account_no="01999999999", premise_id=999)
        ).json()["field"]
        == "premise_id"
    )
    bad = client.post("/api/v1/customers", json=_customer(account_no="02234567890"))
    assert bad.status_code == 422
    assert bad.json()["field"] == "account_no"
    assert "11 digits starting 01 or 03" in bad.json()["detail"]
    assert client.post("/api/v1/customers", json=_customer()).status_code == 409
    assert (
        client.post(
            "/api/v1/customers", json=_customer(account_no="03000000001", tariff_code="x")
        ).status_code
        == 422
    )
    with user_client(str(client.base_url), db_url, "op-mai", Role.OPERATOR) as mai:
        r = mai.patch(
            f"/api/v1/customers/{cid}",
            json={"persons": 5, "payment_method": "vnpay", "reason": "new baby"},
            headers={"X-Operator": "someone-else"},  # no longer trusted: the login is recorded
        )
    assert r.status_code == 200
    assert r.json()["persons"] == 5
    history = client.get(f"/api/v1/customers/{cid}/history").json()
    assert [
        (h["field"], h["old_value"], h["new_value"], h["changed_by"], h["reason"])
        for h in history[1:]
    ] == [
        ("persons", "4", "5", "op-mai", "new baby"),
        ("payment_method", "cash", "vnpay", "op-mai", "new baby"),
    ]
    assert client.get("/api/v1/customers", params={"q": "0909123456"}).json()[0]["id"] == cid
    assert client.get("/api/v1/customers/99999").status_code == 404


def test_meters_exchange_and_contract_files(client: Client) -> None:
    cid = client.post("/api/v1/customers", json=_customer()).json()["id"]
    meter = {
        "meter_id": "WM-1",
        "quantity": "volume",
        "account_no": "01234567890",
        "utility_code": "ben-thanh",
        "brand": "Itron",
        "serial": "S1",
        "size": "DN15",
        "digits": 5,
        "installed_on": "2020-03-01",
        "installer": "Tú",
    }
    assert client.post("/api/v1/meters", json=meter).status_code == 201
    r = client.post(
        "/api/v1/meters/WM-1/exchange",
        json={
            "new": {"meter_id": "WM-2", "quantity": "volume", "brand": "Zenner", "digits": 6},
            "exchanged_at": "2025-06-20T03:00:00Z",
            "old_final_value": 99_990,
            "new_initial_value": 0,
        },
    )
    assert r.status_code == 201, r.text
    listed = {m["meter_id"]: m for m in client.get(f"/api/v1/customers/{cid}/meters").json()}
    assert listed["WM-1"]["status"] == "replaced"
    assert listed["WM-1"]["replaced_on"] == "2025-06-20"
    assert listed["WM-2"]["customer_id"] == cid
    assert (
        client.post(
            "/api/v1/meters/WM-1/exchange",
            json={
                "new": {"meter_id": "WM-3"},
                "exchanged_at": "2025-06-21T03:00:00Z",
                "old_final_value": 1,
            },
        ).status_code
        == 409
    )
    contract = client.post(
        f"/api/v1/customers/{cid}/contracts",
        json={"number": "HD-2025-001", "signed_on": "2025-01-02"},
    ).json()
    pdf = b"%PDF-1.4 contract scan"
    r = client.post(
        f"/api/v1/contracts/{contract['id']}/files",
        params={"filename": "scan.pdf", "content_type": "application/pdf"},
        content=pdf,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    got = client.get(f"/api/v1/contracts/{contract['id']}/files/{r.json()['id']}")
    assert got.content == pdf
    assert got.headers["content-type"] == "application/pdf"


def test_route_schedule_next_and_last_readings(client: Client) -> None:
    # the clock says 2025-07-05; the route reads on the 12th
    r = client.post("/api/v1/routes/Q1-07/schedule", json={"start": "2025-03-01", "months": 6})
    assert r.json() == [
        "2025-03-12",
        "2025-04-12",
        "2025-05-12",
        "2025-06-12",
        "2025-07-12",
        "2025-08-12",
    ]
    for day in ("2025-03-12", "2025-04-12", "2025-05-12", "2025-06-12"):
        client.post(f"/api/v1/routes/Q1-07/schedule/{day}/done")
    s = client.get("/api/v1/routes/Q1-07/schedule").json()
    assert s["next_reading"] == "2025-07-12"
    assert len(s["last_readings"]) == 3


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


HEADER = ["account_no", "name", "tariff_code", "persons", "phone", "meter_id", "quantity", "digits"]
SHEET = [
    HEADER,
    [
        "01000000001",
        "Trần Thị Bích",
        "hcmc-water-residential",
        3,
        "0901000001",
        "WM-11",
        "volume",
        5,
    ],
    ["05000000002", "Lê Văn Cường", "hcmc-water-residential", 2, "", "WM-12", "volume", 5],
    ["03000000003", "Phạm Dũng", "hcmc-water-residential", "many", "", "WM-13", "volume", 5],
    ["03000000004", "Cơ quan X", "hcmc-water-administrative", 0, "", "WM-14", "volume", 6],
]


def _import(client: Client, data: bytes, mode: str) -> dict[str, object]:
    r = client.post(
        "/api/v1/customers/import",
        params={"utility": "ben-thanh", "mode": mode},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200, r.text
    result: dict[str, object] = r.json()
    return result


def test_excel_import_names_row_column_reason_and_honours_the_mode(client: Client) -> None:
    data = _xlsx(SHEET)
    strict = _import(client, data, "all_or_nothing")
    assert strict["committed"] is False
    assert strict["errors"] == [
        {
            "row": 3,
            "column": "account_no",
            "reason": "'05000000002' is not a ben-thanh account (11 digits starting 01 or 03)",
        },
        {
            "row": 4,
            "column": "persons",
            "reason": "Input should be a valid integer, unable to parse string as an integer",
        },
    ]
    assert client.get("/api/v1/customers", params={"q": "01000000001"}).json() == []
    lenient = _import(client, data, "good_rows")
    assert (lenient["committed"], lenient["created"], len(lenient["errors"])) == (True, 2, 2)  # type: ignore[arg-type]
    assert client.get("/api/v1/meters/WM-14").json()["digits"] == 6
    # the same rows again update, they do not duplicate
    again = _import(client, _xlsx([HEADER, [*SHEET[1][:3], 4, *SHEET[1][4:]]]), "all_or_nothing")
    assert (again["created"], again["updated"]) == (0, 1)
    exported = client.get("/api/v1/customers/export", params={"utility": "ben-thanh"})
    assert exported.status_code == 200, exported.text
    ws = load_workbook(io.BytesIO(exported.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "account_no"
    assert [(r[0], r[6]) for r in rows[1:]] == [("01000000001", 4), ("03000000004", 0)]


def test_excel_garbage_is_refused(client: Client) -> None:
    r = client.post(
        "/api/v1/customers/import",
        params={"utility": "ben-thanh"},
        content=b"not a workbook",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 422
    assert "not an Excel workbook" in r.json()["detail"]


def test_manual_reading_photo_gps_and_an_audited_correction(client: Client, db_url: str) -> None:
    client.post("/api/v1/customers", json=_customer())
    client.post("/api/v1/meters", json={"meter_id": "WM-1", "quantity": "volume"})
    photo = b"\xff\xd8\xff\xe0 jpeg bytes"
    r = client.post(
        "/api/v1/readings/manual",
        json={
            "meter_id": "WM-1",
            "value": 1234.0,
            "ts": "2025-07-04T02:00:00+07:00",
            "reader": "Hùng",
            "latitude": 10.7721,
            "longitude": 106.6983,
            "note": "dog",
            "photo_base64": base64.b64encode(photo).decode(),
        },
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert client.get(f"/api/v1/readings/{rid}/photo").content == photo
    future = client.post(
        "/api/v1/readings/manual",
        json={"meter_id": "WM-1", "value": 1.0, "ts": "2030-01-01T00:00:00Z"},
    )
    assert future.status_code == 422
    assert future.json()["field"] == "ts"
    with user_client(str(client.base_url), db_url, "op-thu", Role.OPERATOR) as thu:
        c = thu.post(
            f"/api/v1/readings/{rid}/corrections",
            json={"value": 1243.0, "reason": "digits swapped by reader"},
        )
    assert c.status_code == 201
    assert (
        client.post(
            f"/api/v1/readings/{rid}/corrections", json={"value": 1243.0, "reason": "x"}
        ).status_code
        == 422
    )
    trail = client.get(f"/api/v1/readings/{rid}/corrections").json()
    assert [(t["old_value"], t["new_value"], t["corrected_by"], t["reason"]) for t in trail] == [
        (1234.0, 1243.0, "op-thu", "digits swapped by reader")
    ]
    listed = client.get("/api/v1/readings/meter/WM-1").json()
    assert (listed[0]["value"], listed[0]["original_value"], listed[0]["corrected"]) == (
        1243.0,
        1234.0,
        True,
    )
