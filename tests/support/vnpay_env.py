"""Central on a real uvicorn, configured for VNPay, and the VNPay simulator calling its IPN:
the two ends of the real protocol over loopback HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine

from central.app import create_app
from central.auth import Role
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.settings import BankSettings, PaymentsSettings, VnpaySettings
from simulators.payments.vnpay import IpnFaults, VnpaySim
from tests.support.auth import key_headers
from tests.support.central_app import serve

TMN = "M2CTEST1"
SECRET = "S3cr3tHashForTestsOnly0123456789"
BANK_KEY = "bank-api-key-for-tests-0001"
BANK_HMAC = "bank-hmac-secret-for-tests-0001"


@dataclass
class VnpayEnv:
    engine: Engine
    client: httpx.Client
    sim: VnpaySim
    base: str
    settings: PaymentsSettings

    def order(self, **body: Any) -> dict[str, Any]:
        key = uuid.uuid4().hex
        r = self.client.post(
            "/api/v1/payments/vnpay/orders", json=body, headers={"Idempotency-Key": key}
        )
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    def pay(self, payment_url: str, outcome: str, **faults: Any) -> httpx.Response:
        """The customer opens the pay page and picks an outcome; the browser lands on the
        return URL. Returns the return page's answer."""
        with httpx.Client(timeout=30) as browser:
            page = browser.get(payment_url)
            assert page.status_code == 200, page.text
            ref = payment_url.split("vnp_TxnRef=")[1].split("&")[0]
            extra = "".join(f"&{k}={v}" for k, v in faults.items())
            r = browser.get(f"{self.sim.url}/paymentv2/choose?ref={ref}&outcome={outcome}{extra}")
            assert r.status_code == 302
            return browser.get(r.headers["location"])


@contextmanager
def vnpay_env(db_url: str, *, now: datetime, faults: IpnFaults | None = None) -> Iterator[VnpayEnv]:
    engine = make_engine(db_url)
    upgrade(engine)
    sim = VnpaySim(tmn_code=TMN, secret=SECRET, ipn_url="", faults=faults or IpnFaults()).start()
    try:
        settings = PaymentsSettings(
            vnpay=VnpaySettings(
                tmn_code=TMN,
                hash_secret=SecretStr(SECRET),
                pay_url=f"{sim.url}/paymentv2/vpcpay.html",
                api_url=f"{sim.url}/merchant_webapi/api/transaction",
                return_url="http://placeholder/return",
                querydr_after_minutes=0,
            ),
            bank=BankSettings(api_key=SecretStr(BANK_KEY), hmac_secret=SecretStr(BANK_HMAC)),
        )
        app = create_app(engine, clock=lambda: now, payments=settings)
        with (
            serve(app) as base,
            httpx.Client(
                base_url=base, timeout=30, headers=key_headers(engine, Role.ADMIN, name="desk")
            ) as client,
        ):
            sim.ipn_url = f"{base}/api/v1/payments/vnpay/ipn"
            app.state.payments = settings.model_copy(
                update={
                    "vnpay": settings.vnpay.model_copy(
                        update={"return_url": f"{base}/api/v1/payments/vnpay/return"}
                    )
                }
            )
            yield VnpayEnv(engine, client, sim, base, app.state.payments)
            sim.wait_ipns()
    finally:
        sim.stop()
        engine.dispose()
