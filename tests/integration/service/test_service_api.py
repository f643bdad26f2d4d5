"""Applications, fault reports, work orders and outages over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from central.db.engine import make_engine
from central.db.models.records import StationRow, UtilityRow
from central.records.customers import BEN_THANH
from tests.support.central_app import FIXED_NOW, central_client
from tests.support.channels import add_customer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def api(db_url: str) -> Iterator[httpx.Client]:
    with central_client(db_url) as client:
        engine = make_engine(db_url)
        with Session(engine) as s:
            s.add(UtilityRow(**BEN_THANH.model_dump()))
            s.add(StationRow(code="ST-Q1", name="Trạm Quận 1"))
            add_customer(s, "01234567891", name="Nguyễn Văn An", phone="0901234567")
            s.commit()
        engine.dispose()
        yield client


def test_an_application_is_tracked_by_kind_and_number(api: httpx.Client) -> None:
    body = {
        "kind": "new_connection",
        "applicant": "Lê Văn Bình",
        "phone": "0912345678",
        "address": "5 Nguyễn Huệ, Quận 1",
        "detail": "nhà mới",
    }
    created = api.post("/api/v1/applications", json=body)
    assert created.status_code == 201
    number = created.json()["number"]
    assert number == f"HS-LM-{FIXED_NOW:%Y}-000001"
    tracked = api.get(
        "/api/v1/applications/track", params={"kind": "new_connection", "number": number}
    )
    assert tracked.json()["state"] == "submitted"
    assert "applicant" not in tracked.json()  # nothing personal in the public answer
    wrong_kind = api.get(
        "/api/v1/applications/track", params={"kind": "meter_check", "number": number}
    )
    assert wrong_kind.status_code == 404
    assert (
        api.post(f"/api/v1/applications/{number}/state", json={"state": "done"}).status_code == 409
    )
    moved = api.post(
        f"/api/v1/applications/{number}/state", json={"state": "accepted", "note": "đã tiếp nhận"}
    )
    assert moved.json()["state"] == "accepted"
    unknown = api.post("/api/v1/applications", json={**body, "account_no": "01999999999"})
    assert unknown.status_code == 422


def test_work_order_from_a_fault_report_through_to_its_result(api: httpx.Client) -> None:
    fault = api.post(
        "/api/v1/fault-reports",
        json={
            "account_no": "01234567891",
            "reporter": "Nguyễn Văn An",
            "phone": "0901234567",
            "description": "rò rỉ nước trước nhà",
            "latitude": 10.776,
            "longitude": 106.700,
        },
    )
    assert fault.status_code == 201
    order = api.post(
        "/api/v1/work-orders", json={"kind": "leak_repair", "fault_number": fault.json()["number"]}
    ).json()
    assert (order["source"], order["state"]) == ("fault", "open")
    assert order["customer_id"] is not None
    number = order["number"]
    assert api.patch(f"/api/v1/work-orders/{number}", json={"state": "done"}).status_code == 409
    api.patch(f"/api/v1/work-orders/{number}", json={"assignee": "tech-07"})
    api.patch(f"/api/v1/work-orders/{number}", json={"state": "in_progress"})
    no_result = api.patch(f"/api/v1/work-orders/{number}", json={"state": "done"})
    assert no_result.status_code == 422
    done = api.patch(
        f"/api/v1/work-orders/{number}", json={"state": "done", "result": "đã thay ống 21 mm"}
    ).json()
    assert [e["state"] for e in done["events"]] == ["open", "assigned", "in_progress", "done"]
    assert done["done_at"] is not None
    history = api.get(f"/api/v1/customers/{order['customer_id']}/work-orders").json()
    assert [o["number"] for o in history] == [number]


def test_work_order_files_are_checked_and_served_as_attachments(api: httpx.Client) -> None:
    number = api.post("/api/v1/work-orders", json={"kind": "meter_check"}).json()["number"]
    html = api.post(
        f"/api/v1/work-orders/{number}/files",
        params={"filename": "x.png", "content_type": "image/png"},
        content=b"<html><script>alert(1)</script></html>",
        headers={"content-type": "application/octet-stream"},
    )
    assert html.status_code == 422
    ok = api.post(
        f"/api/v1/work-orders/{number}/files",
        params={"filename": "ảnh đồng hồ.png", "content_type": "image/png"},
        content=PNG,
        headers={"content-type": "application/octet-stream"},
    )
    assert ok.status_code == 201
    got = api.get(f"/api/v1/work-orders/{number}/files/{ok.json()['id']}")
    assert got.content == PNG
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E1%BA%A3nh" in got.headers["content-disposition"]


def test_outages_are_announced_listed_and_ended(api: httpx.Client) -> None:
    body = {
        "kind": "planned",
        "area": "Phường Bến Nghé",
        "reason": "thay van",
        "starts_at": "2025-07-06T01:00:00Z",
        "expected_restore_at": "2025-07-06T09:00:00Z",
        "station_codes": ["ST-Q1"],
    }
    assert api.post("/api/v1/outages", json={**body, "station_codes": ["nope"]}).status_code == 422
    backwards = {**body, "expected_restore_at": "2025-07-05T00:00:00Z"}
    assert api.post("/api/v1/outages", json=backwards).status_code == 422
    created = api.post("/api/v1/outages", json=body).json()
    assert [o["id"] for o in api.get("/api/v1/outages").json()] == [created["id"]]
    assert api.post(f"/api/v1/outages/{created['id']}/restore").json()["restored_at"]
    assert api.get("/api/v1/outages").json() == []
    assert api.post(f"/api/v1/outages/{created['id']}/cancel").status_code == 409
