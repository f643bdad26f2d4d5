"""Central's public receipt page: the link a field receipt's QR opens says whether the receipt
is genuine and what it says, as HTML for a phone and as JSON for an app."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from central.app import create_app
from central.receipts.verify import ReceiptKeyError, parse_keys, receipt_public_key
from central.settings import ReceiptSettings
from contract.receipt_signature import public_key_text, receipt_text
from gateway.cashier.service import Cashier
from tests.support.cashier_kit import BILL, KEY, PUSH, make_cashier

OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34)))


@pytest.fixture
def cashier(tmp_path: Path) -> Iterator[Cashier]:
    c = make_cashier(tmp_path)
    c.verify_url = "https://central.example.vn"
    c.cache.apply(PUSH)
    yield c
    c.close()
    for store in (c.cache, c.ledger, c.queue):
        store.close()


def _get(url: str, keys: dict[str, tuple[str, ...]], **kw: object) -> httpx.Response:
    app = create_app("sqlite://", receipt_keys=keys)

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://central") as c:
            return await c.get(url, **kw)  # type: ignore[arg-type]

    return asyncio.run(call())


def _path(link: str) -> str:
    parts = urllib.parse.urlsplit(link)
    assert parts.netloc == "central.example.vn"
    return parts.path  # still percent-encoded, as a phone sends it


KEYS = {"gw-camau-01": (public_key_text(KEY.public_key()),)}


def test_the_printed_link_opens_a_page_saying_genuine_and_what_it_says(cashier: Cashier) -> None:
    link = cashier.pay(BILL, 387482).verification
    page = _get(_path(link), KEYS)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Genuine receipt" in page.text
    assert "NOT" not in page.text
    assert "BN01-000001" in page.text
    assert "387.482" in page.text
    assert "Trần Văn Bình" in page.text
    as_json = _get(_path(link), KEYS, headers={"Accept": "application/json"}).json()
    assert as_json["genuine"] is True
    assert as_json["receipt"] == {
        "gateway_id": "gw-camau-01",
        "receipt_no": "BN01-000001",
        "account": "PB14010012345",
        "bill_id": BILL,
        "amount": 387482,
        "currency": "VND",
        "method": "cash",
        "paid_at": "2026-11-23T02:30:00Z",
        "cashier": "Trần Văn Bình",
    }


def test_an_altered_amount_is_not_genuine(cashier: Cashier) -> None:
    link = cashier.pay(BILL, 387482).verification
    forged = _path(link).replace("*387482*", "*3874820*")
    page = _get(forged, KEYS)
    assert page.status_code == 200
    assert "NOT a genuine receipt" in page.text
    assert "3.874.820" in page.text  # what the code claims, shown as unverified
    verdict = _get(forged, KEYS, headers={"Accept": "application/json"}).json()
    assert verdict["genuine"] is False
    assert verdict["outcome"] == "forged"


def test_a_receipt_signed_by_another_key_or_gateway_is_not_genuine(cashier: Cashier) -> None:
    link = cashier.pay(BILL, 387482).verification
    other = {"gw-camau-01": (public_key_text(OTHER.public_key()),)}
    assert (
        _get(_path(link), other, headers={"Accept": "application/json"}).json()["outcome"]
        == "forged"
    )
    unknown = _get(_path(link), {}, headers={"Accept": "application/json"}).json()
    assert unknown["outcome"] == "unknown_signer"
    assert unknown["genuine"] is False


def test_the_json_endpoint_takes_the_text_or_the_link(cashier: Cashier) -> None:
    link = cashier.pay(BILL, 387482).verification
    for code in (link, receipt_text(link)):
        got = _get("/api/v1/receipts/verify", KEYS, params={"code": code}).json()
        assert got["genuine"] is True
        assert got["receipt"]["receipt_no"] == "BN01-000001"
    garbage = _get("/api/v1/receipts/verify", KEYS, params={"code": "hello"}).json()
    assert garbage["outcome"] == "malformed"
    assert garbage["receipt"] is None
    assert _get("/api/v1/receipts/verify", KEYS).status_code == 422  # no code at all


def test_receipt_keys_come_from_settings_and_a_bad_key_is_named() -> None:
    keyring = parse_keys(KEYS)
    [key] = receipt_public_key("gw-camau-01", keyring)
    assert key.public_bytes_raw() == KEY.public_key().public_bytes_raw()
    assert receipt_public_key("gw-other", keyring) == ()
    with pytest.raises(ReceiptKeyError, match="gw-x"):
        parse_keys({"gw-x": ("not-a-key",)})
    with pytest.raises(ValidationError, match="gw-x"):
        ReceiptSettings(keys={"gw-x": ("not-a-key",)})
