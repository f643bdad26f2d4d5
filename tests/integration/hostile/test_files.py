"""Files in and out: uploads must be what they claim (checked by their bytes), downloads are
attachments with RFC 6266 / 5987 names and never sniffed."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import unquote

import pytest
from httpx import Client

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HTML = b"<html><script>alert(document.cookie)</script></html>"


def _contract(client: Client) -> int:
    r = client.post("/api/v1/customers/1/contracts", json={"number": "HĐ-001/2025"})
    assert r.status_code == 201, r.text
    contract_id: int = r.json()["id"]
    return contract_id


def _upload(client: Client, contract: int, name: str, data: bytes, media: str | None):
    params = {"filename": name}
    if media is not None:
        params["content_type"] = media
    return client.post(
        f"/api/v1/contracts/{contract}/files",
        params=params,
        content=data,
        headers={"content-type": "application/octet-stream"},
    )


def test_a_vietnamese_file_name_downloads_with_rfc_5987(client: Client) -> None:
    contract = _contract(client)
    name = "Hợp đồng cấp nước – Nguyễn Văn An.pdf"
    r = _upload(client, contract, name, PDF, "application/pdf")
    assert r.status_code == 201, r.text
    got = client.get(f"/api/v1/contracts/{contract}/files/{r.json()['id']}")
    assert got.status_code == 200, got.text
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Hop dong cap nuoc')
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == name


def test_a_file_name_cannot_break_the_header(client: Client) -> None:
    contract = _contract(client)
    r = _upload(client, contract, 'evil"; filename="x.html', PDF, None)
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "application/pdf"  # found from the bytes
    got = client.get(f"/api/v1/contracts/{contract}/files/{r.json()['id']}")
    disposition = got.headers["content-disposition"]
    assert disposition.count('"') == 2
    assert disposition.startswith("attachment;")


@pytest.mark.parametrize(
    ("data", "media", "reason"),
    [
        (HTML, "image/jpeg", "the content is not image/jpeg"),
        (HTML, "text/html", "type 'text/html' is not accepted"),
        (HTML, None, "is none of"),
        (PNG, "application/pdf", "the content is not application/pdf"),
        (JPEG, "image/svg+xml", "is not accepted"),
    ],
)
def test_a_contract_file_must_be_what_it_claims(
    client: Client,
    still_works: Callable[[], None],
    data: bytes,
    media: str | None,
    reason: str,
) -> None:
    contract = _contract(client)
    r = _upload(client, contract, "scan", data, media)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "file"
    assert reason in r.json()["detail"]
    assert client.get(f"/api/v1/contracts/{contract}/files").json() == []
    still_works()


def _reading(client: Client, photo: bytes, media: str, minute: int):
    return client.post(
        "/api/v1/readings/manual",
        json={
            "meter_id": "W-0001",
            "value": 100 + minute,
            "ts": f"2025-07-01T08:{minute:02d}:00+07:00",
            "photo_base64": base64.b64encode(photo).decode(),
            "photo_type": media,
        },
    )


def test_a_reading_photo_is_jpeg_or_png_by_content_and_served_as_attachment(
    client: Client, still_works: Callable[[], None]
) -> None:
    r = _reading(client, HTML, "image/jpeg", 1)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "photo_base64"
    r = _reading(client, HTML, "text/html", 2)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "photo_type"]
    r = _reading(client, JPEG, "image/png", 3)
    assert r.status_code == 422, r.text
    still_works()
    for minute, (photo, media) in enumerate(((JPEG, "image/jpeg"), (PNG, "image/png")), 10):
        r = _reading(client, photo, media, minute)
        assert r.status_code == 201, r.text
        got = client.get(f"/api/v1/readings/{r.json()['id']}/photo")
        assert got.content == photo
        assert got.headers["content-type"] == media
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"].startswith("attachment;")


def test_every_answer_says_nosniff(client: Client) -> None:
    for r in (
        client.get("/healthz"),
        client.get("/api/v1/tariffs"),
        client.get("/api/v1/customers/999"),
        client.post("/api/v1/stations", json={}),
    ):
        assert r.headers["x-content-type-options"] == "nosniff", r.url
