"""VietQR bank transfers end to end with the bank simulator over real HTTP, on SQLite and
PostgreSQL: the webhook (API key, HMAC, stale, tampered, duplicates), matching by the account
in the content, a mistyped content as a suggestion an operator assigns, statements in CSV,
XLSX and camt.053 catching a transfer the webhook missed, the day's reconciliation, the
exceptions queue and the collection reports."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime

import openpyxl
import pytest

from simulators.payments.bank import GMT7, BankSim
from tests.support.payments_seed import NOW, add_bill
from tests.support.vnpay_env import BANK_HMAC, BANK_KEY, VnpayEnv, vnpay_env

AT = NOW.astimezone(GMT7)  # the transfers happen "now" for central's fixed clock
DAY = AT.strftime("%Y-%m-%d")


@pytest.fixture
def env(db_url: str) -> Iterator[VnpayEnv]:
    with vnpay_env(db_url, now=NOW) as e:
        yield e


def _customer(env: VnpayEnv, n: int, total: int) -> tuple[int, int]:
    from tests.support.payments_seed import add_customer

    cid = add_customer(env.engine, n)
    return cid, add_bill(env.engine, cid, total, month=6)


def _sim(env: VnpayEnv, **kw: str) -> BankSim:
    return BankSim(
        webhook_url=f"{env.base}/api/v1/payments/bank/webhook", clock=NOW.timestamp, **kw
    )


def test_webhook_api_key_exact_match_and_duplicates(env: VnpayEnv) -> None:
    cid, bill = _customer(env, 1, 78_255)
    bank = _sim(env, api_key=BANK_KEY)
    t = bank.credit(78_255, "CT DEN:0123 TT 01000000001 thanh toan tien nuoc", at=AT, duplicates=2)
    assert bank.deliveries == [(t.ref, 200)] * 3
    assert env.client.get(f"/api/v1/bills/{bill}").json()["state"] == "paid"
    pays = env.client.get(f"/api/v1/customers/{cid}/payments").json()
    assert [(p["channel"], p["provider_ref"], p["method"]) for p in pays] == [
        ("bank", t.ref, "transfer")
    ]
    bank.credit(1_000, "TT 01000000001", at=AT, tamper=True)
    assert bank.deliveries[-1][1] == 401
    assert len(env.client.get(f"/api/v1/customers/{cid}/payments").json()) == 1
    unsigned = env.client.post("/api/v1/payments/bank/webhook", content=bank.payload(t))
    assert unsigned.status_code == 401
    counted = env.client.get("/api/v1/payments/rejections").json()
    assert [(r["channel"], r["count"]) for r in counted] == [("bank", 1), ("bank", 1)]


def test_webhook_hmac_and_stale_timestamp(env: VnpayEnv) -> None:
    _cid, bill = _customer(env, 2, 50_000)
    bank = _sim(env, hmac_secret=BANK_HMAC)
    t = bank.credit(50_000, "01000000002", at=AT)
    assert bank.deliveries == [(t.ref, 200)]
    assert env.client.get(f"/api/v1/bills/{bill}").json()["state"] == "paid"
    import hashlib
    import hmac

    body = bank.payload(t)
    old = str(int(NOW.timestamp()) - 301)
    sig = hmac.new(BANK_HMAC.encode(), old.encode() + b"." + body, hashlib.sha256).hexdigest()
    stale = env.client.post(
        "/api/v1/payments/bank/webhook",
        content=body,
        headers={"X-Timestamp": old, "X-Signature": sig},
    )
    assert stale.status_code == 401
    assert "stale" in stale.json()["detail"]


def test_mistyped_content_is_a_suggestion_an_operator_assigns(env: VnpayEnv) -> None:
    cid, bill = _customer(env, 3, 120_000)
    _customer(env, 4, 99_000)
    bank = _sim(env, api_key=BANK_KEY)
    bank.credit(120_000, "TT 01000000030", at=AT)  # two digits swapped
    assert env.client.get(f"/api/v1/bills/{bill}").json()["state"] == "issued"
    (ex,) = env.client.get("/api/v1/payments/exceptions").json()
    assert (ex["kind"], ex["suggested_customer_id"], ex["amount"]) == ("suggested", cid, 120_000)
    r = env.client.post(
        f"/api/v1/payments/exceptions/{ex['id']}/resolve",
        json={"action": "assign", "customer_id": cid, "note": "rang khach"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["resolved_by"]) == ("resolved", "key:desk")
    assert env.client.get(f"/api/v1/bills/{bill}").json()["state"] == "paid"
    again = env.client.post(
        f"/api/v1/payments/exceptions/{ex['id']}/resolve",
        json={"action": "assign", "customer_id": cid},
    )
    assert again.status_code == 409
    bank.credit(7_000, "no account here", at=AT)
    (ex2,) = env.client.get("/api/v1/payments/exceptions").json()
    assert ex2["kind"] == "unmatched_transfer"
    r = env.client.post(
        f"/api/v1/payments/exceptions/{ex2['id']}/resolve",
        json={"action": "write_off", "note": "unclaimed after 90 days"},
    )
    assert r.json()["action"] == "write_off"
    assert env.client.get("/api/v1/payments/exceptions").json() == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "camt053"])
def test_statement_catches_what_the_webhook_missed(env: VnpayEnv, fmt: str) -> None:
    _a, bill_a = _customer(env, 5, 60_000)
    _b, bill_b = _customer(env, 6, 70_000)
    bank = _sim(env, api_key=BANK_KEY)
    bank.credit(60_000, "TT 01000000005", at=AT)
    bank.credit(70_000, "TT 01000000006", at=AT, drop=True)  # the webhook never came
    assert env.client.get(f"/api/v1/bills/{bill_b}").json()["state"] == "issued"
    data = getattr(bank, f"statement_{fmt}")(DAY)
    name = {"csv": "saoke.csv", "xlsx": "saoke.xlsx", "camt053": "camt053.xml"}[fmt]
    r = env.client.post("/api/v1/payments/bank/statements", params={"filename": name}, content=data)
    assert r.status_code == 201, r.text
    assert (r.json()["lines"], r.json()["new_lines"], r.json()["booked"]) == (2, 2, 1)
    again = env.client.post(
        "/api/v1/payments/bank/statements", params={"filename": name}, content=data
    ).json()
    assert (again["new_lines"], again["booked"]) == (0, 0)
    for bill in (bill_a, bill_b):
        assert env.client.get(f"/api/v1/bills/{bill}").json()["state"] == "paid"
    rec = env.client.post(f"/api/v1/payments/reconciliation/bank/{DAY}").json()
    assert (rec["matched"], rec["lines_without_payment"], rec["payments_without_line"]) == (2, 0, 0)
    assert rec["matched_amount"] == 130_000


def test_broken_statements_are_refused_with_the_place(env: VnpayEnv) -> None:
    bad_amount = "Ngày giao dịch,Số tham chiếu,Ghi có,Nội dung\n20/07/2025,FT1,12x,TT\n"
    r = env.client.post(
        "/api/v1/payments/bank/statements",
        params={"filename": "s.csv"},
        content=bad_amount.encode(),
    )
    assert r.status_code == 422
    assert "s.csv row 2" in r.json()["detail"]
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&b;</Document>'
    )
    r = env.client.post(
        "/api/v1/payments/bank/statements", params={"filename": "x.xml"}, content=bomb
    )
    assert r.status_code == 422
    assert "x.xml" in r.json()["detail"]
    r = env.client.post(
        "/api/v1/payments/bank/statements", params={"filename": "x.pdf"}, content=b"%PDF"
    )
    assert r.status_code == 422


def test_collection_report_json_and_excel(env: VnpayEnv) -> None:
    _cid, _bill = _customer(env, 8, 90_000)
    _sim(env, api_key=BANK_KEY).credit(40_000, "TT 01000000008", at=AT)
    env.client.post(
        "/api/v1/payments",
        json={"customer_id": _cid, "amount": 10_000, "method": "cash"},
        headers={"Idempotency-Key": "c1"},
    )
    q = {"start": DAY, "end": DAY}
    rep = env.client.get("/api/v1/payments/reports/collections", params=q).json()
    assert rep["totals"]["channel"] == {"bank": 40_000, "counter": 10_000}
    assert rep["totals"]["method"] == {"transfer": 40_000, "cash": 10_000}
    assert sum(a["open"] for a in rep["ageing"]) == 40_000
    xlsx = env.client.get("/api/v1/payments/reports/collections", params={**q, "format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    rows = list(book["Collections"].iter_rows(values_only=True))
    assert rows[0][:3] == ("day", "channel", "method")
    assert sorted(r[6] for r in rows[1:]) == [10_000, 40_000]
    assert datetime.fromisoformat(rep["start"] + "T00:00").date().isoformat() == DAY
