"""The hosted card/wallet gateway (Alipay-style page pay, RSA2) against its simulator over
real HTTP, on SQLite and PostgreSQL: the arrears check, the signed pay URL, the notify
verified and applied once (duplicates answered success), a tampered notify refused, a closed
trade paying nothing."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.app import create_app
from central.auth import Role
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.payments import rejections, wallet
from central.settings import PaymentsSettings, WalletSettings
from simulators.payments.wallet import WalletSim, new_key
from tests.support.auth import key_headers
from tests.support.broker import free_port
from tests.support.central_app import serve
from tests.support.payments_seed import NOW, add_bill, add_customer


@dataclass
class Env:
    engine: Engine
    client: httpx.Client
    sim: WalletSim


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    engine = make_engine(db_url)
    upgrade(engine)
    port = free_port()
    private, public = new_key()
    sim = WalletSim(app_id="2021000000000001", merchant_public_key=public, duplicates=1).start()
    settings = PaymentsSettings(
        wallet=WalletSettings(
            app_id="2021000000000001",
            gateway_url=f"{sim.url}/gateway.do",
            merchant_private_key=SecretStr(private),
            gateway_public_key=sim.public_pem,
            notify_url=f"http://127.0.0.1:{port}/api/v1/payments/wallet/notify",
        )
    )
    app = create_app(engine, clock=lambda: NOW, payments=settings)
    try:
        with (
            serve(app, port=port) as base,
            httpx.Client(
                base_url=base, timeout=30, headers=key_headers(engine, Role.ADMIN)
            ) as client,
        ):
            yield Env(engine, client, sim)
    finally:
        sim.stop()
        engine.dispose()


def _order(env: Env, key: str, **body: object) -> httpx.Response:
    return env.client.post(
        "/api/v1/payments/wallet/orders", json=body, headers={"Idempotency-Key": key}
    )


def test_pay_notify_once_and_arrears_check(env: Env) -> None:
    cid = add_customer(env.engine, 1)
    bill = add_bill(env.engine, cid, 88_000, month=6)
    r = _order(env, "w1", account_no="01000000001")
    assert r.status_code == 201, r.text
    order = r.json()
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(order["pay_url"]).query))
    assert params["sign_type"] == "RSA2"
    assert '"total_amount":"88000.00"' in params["biz_content"]
    assert httpx.get(order["pay_url"]).status_code == 200  # the gateway accepts our signature
    forged = order["pay_url"].replace("88000.00", "1.00")
    assert httpx.get(forged).status_code == 400
    httpx.get(f"{env.sim.url}/choose", params={"trade": order["out_trade_no"]})
    env.sim.wait()
    assert [a for _, a in env.sim.notify_log] == ["success", "success"]  # a repeat, once paid
    assert env.client.get(f"/api/v1/bills/{bill}").json()["state"] == "paid"
    back = env.client.get(
        "/api/v1/payments/wallet/return", params={"out_trade_no": order["out_trade_no"]}
    )
    assert "data-outcome=paid" in back.text
    pays = env.client.get(f"/api/v1/customers/{cid}/payments").json()
    assert [(p["channel"], p["amount"]) for p in pays] == [("wallet", 88_000)]
    refused = _order(env, "w2", customer_id=cid)
    assert refused.status_code == 422
    assert "owes nothing" in refused.json()["detail"]


def test_tampered_and_closed_notifications_pay_nothing(env: Env) -> None:
    cid = add_customer(env.engine, 2)
    bill = add_bill(env.engine, cid, 50_000, month=6)
    assert _order(env, "w3", customer_id=cid, amount=50_001).status_code == 422
    first = _order(env, "w4", customer_id=cid, amount=20_000).json()
    httpx.get(first["pay_url"])
    httpx.get(f"{env.sim.url}/choose", params={"trade": first["out_trade_no"], "tamper": "1"})
    second = _order(env, "w5", customer_id=cid).json()
    httpx.get(second["pay_url"])
    httpx.get(
        f"{env.sim.url}/choose", params={"trade": second["out_trade_no"], "status": "TRADE_CLOSED"}
    )
    env.sim.wait()
    answers = {
        t: {a for tt, a in env.sim.notify_log if tt == t}
        for t in (first["out_trade_no"], second["out_trade_no"])
    }
    assert answers == {first["out_trade_no"]: {"failure"}, second["out_trade_no"]: {"success"}}
    assert env.client.get(f"/api/v1/bills/{bill}").json()["state"] == "issued"
    assert env.client.get(f"/api/v1/customers/{cid}/payments").json() == []
    assert wallet.yuan(5) == "5.00"
    with Session(env.engine) as s:
        assert [(r["channel"], r["reason"]) for r in rejections.counts(s)] == [
            ("wallet", "bad signature")
        ]
