"""VNPay 2.1.0 end to end against the simulator over real HTTP, on SQLite and PostgreSQL:
every IPN code (00, 01, 02, 04, 97) and every ordering — the IPN before the return, the
return without an IPN (querydr settles it), the IPN twice, three at once, reordered IPNs —
a failed payment recorded as failed, an IPN for a cancelled bill, and a refund of a partly
allocated payment."""

from __future__ import annotations

import csv
import io
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.billing import bills
from central.db.models.payments import PaymentRow
from central.payments import ledger
from central.payments import vnpay as merchant
from central.payments.sweeper import Sweeper
from simulators.payments import vnpay_wire as wire
from tests.support.payments_seed import NOW, add_bill, add_customer, clock
from tests.support.vnpay_env import SECRET, TMN, VnpayEnv, vnpay_env


@pytest.fixture
def env(db_url: str) -> Iterator[VnpayEnv]:
    with vnpay_env(db_url, now=NOW) as e:
        yield e


def _codes(env: VnpayEnv, ref: str) -> list[str]:
    env.sim.wait_ipns()
    return [rsp for r, _status, rsp in env.sim.ipn_log if r == ref]


def _payments(env: VnpayEnv) -> list[tuple[str, str, int]]:
    with Session(env.engine) as s:
        rows = s.execute(
            select(PaymentRow.provider_ref, PaymentRow.status, PaymentRow.amount).order_by(
                PaymentRow.id
            )
        ).all()
        assert ledger.totals(s).balances
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _bill(env: VnpayEnv, bill_id: int) -> dict[str, Any]:
    out: dict[str, Any] = env.client.get(f"/api/v1/bills/{bill_id}").json()
    return out


def _setup(env: VnpayEnv, *totals: int) -> tuple[int, list[int]]:
    cid = add_customer(env.engine, 1)
    return cid, [add_bill(env.engine, cid, t, month=5 + i) for i, t in enumerate(totals)]


def test_the_payment_url_is_signed_as_vnpay_specifies(env: VnpayEnv) -> None:
    _, (bill,) = _setup(env, 78_255)
    order = env.order(bill_ids=[bill])
    assert order["amount"] == 78_255
    url = urllib.parse.urlsplit(order["payment_url"])
    params = dict(urllib.parse.parse_qsl(url.query))
    assert params["vnp_Amount"] == "7825500"
    assert params["vnp_TmnCode"] == TMN
    assert params["vnp_Version"] == "2.1.0"
    assert params["vnp_CreateDate"] == "20250720100000"  # 03:00 UTC is 10:00 in GMT+7
    assert params["vnp_ExpireDate"] == "20250720101500"
    assert params["vnp_OrderInfo"].isascii()
    assert wire.query_ok(params, SECRET)  # the provider's own check agrees
    keys = [k for k, _ in urllib.parse.parse_qsl(url.query)][:-1]
    assert keys == sorted(keys)


def test_ipn_before_the_return(env: VnpayEnv) -> None:
    _, (bill,) = _setup(env, 100_000)
    order = env.order(bill_ids=[bill])
    page = env.pay(order["payment_url"], "approved")
    assert _codes(env, order["txn_ref"]) == ["00"]
    assert _bill(env, bill)["state"] == "paid"
    assert "data-outcome=paid" in httpx.get(str(page.url)).text
    assert _payments(env) == [(order["txn_ref"], "completed", 100_000)]


def test_return_without_ipn_then_querydr(env: VnpayEnv) -> None:
    _, (bill,) = _setup(env, 100_000)
    order = env.order(bill_ids=[bill])
    page = env.pay(order["payment_url"], "approved", drop=1)
    assert "data-outcome=processing" in page.text  # shows, settles nothing
    assert _bill(env, bill)["state"] == "issued"
    r = env.client.post("/api/v1/payments/vnpay/querydr")
    assert r.json() == {"asked": 1, "paid": 1, "failed": 0}
    assert _bill(env, bill)["state"] == "paid"
    assert env.client.post("/api/v1/payments/vnpay/querydr").json()["asked"] == 0
    assert _codes(env, order["txn_ref"]) == []


def test_ipn_twice_and_three_at_once(env: VnpayEnv) -> None:
    _, (a, b) = _setup(env, 100_000, 50_000)
    twice = env.order(bill_ids=[a])
    env.pay(twice["payment_url"], "approved", duplicates=1)
    assert _codes(env, twice["txn_ref"]) == ["00", "02"]
    burst = env.order(bill_ids=[b])
    env.pay(burst["payment_url"], "approved", duplicates=2, burst=1)
    assert sorted(_codes(env, burst["txn_ref"])) == ["00", "02", "02"]
    assert [p[0] for p in _payments(env)] == [twice["txn_ref"], burst["txn_ref"]]
    assert (_bill(env, a)["state"], _bill(env, b)["state"]) == ("paid", "paid")


def test_reordered_ipns(env: VnpayEnv) -> None:
    cid, (a, b) = _setup(env, 100_000, 50_000)
    first, second = env.order(bill_ids=[a]), env.order(bill_ids=[b])
    env.pay(first["payment_url"], "approved", hold=1)  # held back...
    env.pay(second["payment_url"], "approved")  # ...and sent after this one
    env.sim.wait_ipns()
    order = [r for r, _, rsp in env.sim.ipn_log if rsp == "00"]
    assert order == [second["txn_ref"], first["txn_ref"]]
    assert env.client.get(f"/api/v1/customers/{cid}/ledger").json()["balance"] == 0


def test_signature_order_and_amount_codes(env: VnpayEnv) -> None:
    _, (bill,) = _setup(env, 100_000)
    order = env.order(bill_ids=[bill])
    env.pay(order["payment_url"], "approved", tamper=1)
    assert _codes(env, order["txn_ref"]) == ["97"]
    assert _bill(env, bill)["state"] == "issued"

    def ipn(**change: str) -> str:
        params = {
            "vnp_Amount": "10000000",
            "vnp_ResponseCode": "00",
            "vnp_TmnCode": TMN,
            "vnp_TransactionNo": "1",
            "vnp_TransactionStatus": "00",
            "vnp_TxnRef": order["txn_ref"],
            **change,
        }
        params["vnp_SecureHash"] = wire.query_hash(params, SECRET)
        r = env.client.get("/api/v1/payments/vnpay/ipn", params=params)
        assert r.status_code == 200
        return f"{r.json()['RspCode']} {r.json()['Message']}"

    assert ipn(vnp_TxnRef="NOPE") == "01 Order not found"
    assert ipn(vnp_Amount="10000001") == "04 Invalid amount"  # off by one (minor unit)
    assert ipn(vnp_Amount="9999900") == "04 Invalid amount"  # off by one dong
    assert ipn() == "00 Confirm Success"
    assert ipn() == "02 Order already confirmed"
    assert ipn(vnp_Amount="1") == "04 Invalid amount"  # amount is checked before state
    unsigned = env.client.get("/api/v1/payments/vnpay/ipn", params={"vnp_TxnRef": "x"})
    assert unsigned.json() == {"RspCode": "97", "Message": "Invalid signature"}
    assert len(_payments(env)) == 1
    counted = {
        r["reason"]: r["count"] for r in env.client.get("/api/v1/payments/rejections").json()
    }
    assert counted == {
        "IPN 97 Invalid signature": 2,
        "IPN 01 Order not found": 1,
        "IPN 04 Invalid amount": 3,
    }


def test_failed_payment_recorded_as_failed(env: VnpayEnv) -> None:
    _, (bill,) = _setup(env, 100_000)
    for outcome in ("insufficient_funds", "cancelled", "timeout"):
        order = env.order(bill_ids=[bill])
        page = env.pay(order["payment_url"], outcome)
        assert _codes(env, order["txn_ref"]) == ["00"]
        assert "không thành công" in page.text  # before or after the IPN: never "paid"
        status = env.client.get(f"/api/v1/payments/vnpay/orders/{order['txn_ref']}").json()
        assert status["status"] == "failed"
    assert [p[1] for p in _payments(env)] == ["failed"] * 3
    assert _bill(env, bill)["state"] == "issued"


def test_ipn_for_a_cancelled_bill_keeps_the_money_as_credit(env: VnpayEnv) -> None:
    cid, (bill,) = _setup(env, 100_000)
    order = env.order(bill_ids=[bill])
    with Session(env.engine) as s:
        bills.cancel(s, bill, reason="meter misread", by="op", clock=clock)
        s.commit()
    env.pay(order["payment_url"], "approved")
    assert _codes(env, order["txn_ref"]) == ["00"]  # VNPay took the money: never refuse it
    led = env.client.get(f"/api/v1/customers/{cid}/ledger").json()
    assert (led["balance"], led["credit"]) == (-100_000, 100_000)
    assert _bill(env, bill)["state"] == "cancelled"


def test_refund_of_a_partly_allocated_payment(env: VnpayEnv) -> None:
    cid, (bill,) = _setup(env, 100_000)
    order = env.order(bill_ids=[bill])
    with Session(env.engine) as s:  # the bill shrinks while the customer pays
        bills.adjust(s, bill, -40_000, kind="credit_note", reason="leak", by="op", clock=clock)
        s.commit()
    env.pay(order["payment_url"], "approved")
    assert _codes(env, order["txn_ref"]) == ["00"]
    pay = env.client.get(f"/api/v1/customers/{cid}/payments").json()[0]
    assert (pay["allocations"], pay["credit"]) == ([{"bill_id": bill, "amount": 60_000}], 40_000)

    def refund(amount: int, key: str) -> httpx.Response:
        return env.client.post(
            "/api/v1/payments/vnpay/refunds",
            json={"payment_id": pay["id"], "amount": amount, "reason": "customer asked"},
            headers={"Idempotency-Key": key},
        )

    r = refund(50_000, "rf-1")
    assert r.status_code == 201, r.text
    assert r.json()["payment"]["status"] == "partially_refunded"
    assert _bill(env, bill)["state"] == "partially_paid"
    assert env.client.get(f"/api/v1/customers/{cid}/ledger").json()["owed"] == 10_000
    assert refund(50_000, "rf-1").json() == r.json()  # replayed, not refunded twice
    assert refund(50_001, "rf-2").status_code == 422
    assert refund(50_000, "rf-3").json()["payment"]["status"] == "refunded"
    assert _bill(env, bill)["state"] == "issued"
    kinds = [t for t, _, _ in env.sim.txns[order["txn_ref"]].refunds]
    assert kinds == ["03", "03"]
    today = datetime.now(UTC).astimezone(wire.GMT7).strftime("%Y-%m-%d")  # VNPay's day
    rows = list(csv.DictReader(io.StringIO(env.sim.report(today))))
    ref = order["txn_ref"]
    assert [(r["TxnRef"], r["TransactionType"], r["Amount"]) for r in rows] == [
        (ref, "01", "100000"),
        (ref, "03", "50000"),
        (ref, "03", "50000"),
    ]
    with Session(env.engine) as s:
        assert s.scalar(select(func.count()).select_from(PaymentRow)) == 1


def test_orders_refuse_what_cannot_be_paid(env: VnpayEnv) -> None:
    cid, (bill,) = _setup(env, 100_000)
    key = {"Idempotency-Key": "o-1"}
    r = env.client.post("/api/v1/payments/vnpay/orders", json={"bill_ids": [999]}, headers=key)
    assert r.status_code == 404
    env.order(bill_ids=[bill])
    env.client.post(
        "/api/v1/payments",
        json={"customer_id": cid, "amount": 100_000, "method": "cash"},
        headers={"Idempotency-Key": "cash-1"},
    )
    r = env.client.post(
        "/api/v1/payments/vnpay/orders",
        json={"customer_id": cid},
        headers={"Idempotency-Key": "o-2"},
    )
    assert r.status_code == 422
    assert "owes nothing" in r.json()["detail"]
    assert merchant.order_info("Thanh toán hoá đơn Đà Nẵng") == "Thanh toan hoa don Da Nang"


def test_the_sweeper_asks_vnpay_about_silent_orders(env: VnpayEnv) -> None:
    _, (a, b) = _setup(env, 100_000, 70_000)
    paid, gone = env.order(bill_ids=[a]), env.order(bill_ids=[b])
    env.pay(paid["payment_url"], "approved", drop=1)
    sweeper = Sweeper(env.engine, env.settings, clock=clock)
    sweeper.run_once()
    assert _bill(env, a)["state"] == "paid"
    assert (
        env.client.get(f"/api/v1/payments/vnpay/orders/{gone['txn_ref']}").json()["status"]
        == "pending"
    )  # never paid at VNPay, not expired yet: asked again next time
    assert sweeper.passes == 1
    later = Sweeper(env.engine, env.settings, clock=lambda: NOW + timedelta(minutes=16))
    later.run_once()  # past vnp_ExpireDate and VNPay never saw it: the order is over
    order = env.client.get(f"/api/v1/payments/vnpay/orders/{gone['txn_ref']}").json()
    assert (order["status"], order["payment_id"]) == ("expired", None)
    assert _bill(env, b)["state"] == "issued"


def test_daily_reconciliation_against_the_vnpay_report(env: VnpayEnv) -> None:
    cid, (a, b, c) = _setup(env, 100_000, 50_000, 30_000)
    seen, silent = env.order(bill_ids=[a]), env.order(bill_ids=[b])
    env.pay(seen["payment_url"], "approved")
    env.pay(silent["payment_url"], "approved", drop=1)  # VNPay has it, we do not (yet)
    assert _codes(env, seen["txn_ref"]) == ["00"]
    env.client.post(
        "/api/v1/payments",
        json={"customer_id": cid, "amount": 1, "method": "cash"},
        headers={"Idempotency-Key": "not-vnpay"},
    )
    today = datetime.now(UTC).astimezone(wire.GMT7).strftime("%Y-%m-%d")
    report = httpx.get(f"{env.sim.url}/report", params={"date": today}).content
    r = env.client.post("/api/v1/payments/vnpay/reports", content=report)
    assert r.json() == {"lines": 2, "new_lines": 2}
    rec = env.client.post(f"/api/v1/payments/reconciliation/vnpay/{today}").json()
    assert (rec["matched"], rec["lines_without_payment"], rec["payments_without_line"]) == (
        1, 1, 0
    )  # fmt: skip
    (ex,) = env.client.get("/api/v1/payments/exceptions").json()
    assert (ex["kind"], ex["subject"]) == ("missing_payment", f"vnpay:{silent['txn_ref']}")
    env.client.post("/api/v1/payments/vnpay/querydr")  # the sweep finds it
    rec = env.client.post(f"/api/v1/payments/reconciliation/vnpay/{today}").json()
    assert (rec["matched"], rec["lines_without_payment"]) == (2, 0)
    # the 1 dong at the counter went to b (oldest open) first, so VNPay's order for b left
    # 1 dong over, which went on to c
    assert _bill(env, c)["state"] == "partially_paid"
