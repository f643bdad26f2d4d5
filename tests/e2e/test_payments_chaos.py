"""Chaos for money: a storm of VNPay IPNs (each three times at once), bank webhooks (each three
times) and field-cash batches (each stored twice) while central is killed with SIGKILL and
restarted twice. Afterwards every provider transaction is exactly one payment, every bill is
paid, and the ledger balances: allocations + credit = payments − refunds."""

from __future__ import annotations

import functools
import subprocess
import threading
import time
import urllib.error
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.auth import Role
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.billing import BillRow
from central.db.models.payments import PaymentRow, VnpayOrderRow
from central.identity.enrollment import enroll
from central.ingest.store import store
from central.payments import ledger
from contract import mqtt as contract
from contract.command_signature import public_key_text
from contract.receipt_signature import ReceiptFields, sign_receipt, signature_of
from simulators.payments.bank import BankSim
from simulators.payments.vnpay import IpnFaults, VnpaySim
from tests.support.auth import key_headers
from tests.support.broker import free_port
from tests.support.payments_seed import add_bill, add_customer
from tests.support.procs import m2c, stop

N = 12  # accounts per channel
SECRET = "ChaosSecretChaosSecret0123456"
KEY = "chaos-bank-api-key-000001"


def _start(cfg: Path, log: Path, base: str) -> subprocess.Popen[bytes]:
    proc = m2c("central", "api", "-c", str(cfg), log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"central exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError("central did not come up")


def _until_ok(send: Callable[[], int], attempts: int = 200) -> None:
    for _ in range(attempts):
        try:
            if send() == 200:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError("never delivered")


def test_payment_storm_with_central_killed(tmp_path: Path, db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    bills = {}
    for i in range(1, 3 * N + 1):
        cid = add_customer(engine, i)
        bills[i] = add_bill(engine, cid, 10_000 * i, month=6)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sim = VnpaySim(
        tmn_code="CHAOS001",
        secret=SECRET,
        ipn_url=f"{base}/api/v1/payments/vnpay/ipn",
        faults=IpnFaults(duplicates=2, burst=True, retries=5),
    ).start()
    cfg = tmp_path / "central.toml"
    cfg.write_text(f"""
database_url = "{db_url}"
[http]
port = {port}
[broker]
port = {free_port()}
[auth]
generated_secret_file = "{tmp_path / "auth-secret"}"
[identity]
command_key = "{tmp_path / "command-key.pem"}"
[payments]
sweep_seconds = 0.3
[payments.vnpay]
tmn_code = "CHAOS001"
hash_secret = "{SECRET}"
pay_url = "{sim.url}/paymentv2/vpcpay.html"
api_url = "{sim.url}/merchant_webapi/api/transaction"
return_url = "{base}/api/v1/payments/vnpay/return"
querydr_after_minutes = 0
[payments.bank]
api_key = "{KEY}"
""")
    log = tmp_path / "central.log"
    receipt_key = Ed25519PrivateKey.generate()  # the field gateway's, enrolled at central
    enroll(
        engine,
        "gw-chaos",
        public_key_text(receipt_key.public_key()),
        password_file=tmp_path / "gateways.passwd",
        now=datetime.now(UTC),
    )
    cashier_key = key_headers(engine, Role.CASHIER, name="chaos-cashier")
    proc = _start(cfg, log, base)
    try:
        with httpx.Client(base_url=base, timeout=30, headers=cashier_key) as client:
            orders = [
                client.post(
                    "/api/v1/payments/vnpay/orders",
                    json={"bill_ids": [bills[i]]},
                    headers={"Idempotency-Key": f"o{i}"},
                ).json()
                for i in range(1, N + 1)
            ]
        bank = BankSim(webhook_url=f"{base}/api/v1/payments/bank/webhook", api_key=KEY)
        transfers = []

        def vnpay_storm() -> None:
            for o in orders:
                with httpx.Client(timeout=30) as browser:
                    browser.get(o["payment_url"])
                    ref = o["txn_ref"]
                    browser.get(f"{sim.url}/paymentv2/choose?ref={ref}&outcome=approved")

        def bank_storm() -> None:
            for i in range(N + 1, 2 * N + 1):
                t = bank.credit(10_000 * i, f"TT 01{i:09d}", drop=True)
                transfers.append(t)
                for _ in range(3):
                    _until_ok(functools.partial(bank.notify, t))

        def field_storm() -> None:
            for i in range(2 * N + 1, 3 * N + 1):
                paid_at = datetime.now(UTC).replace(microsecond=0)
                receipt = ReceiptFields(
                    "gw-chaos", f"R{i}", f"01{i:09d}", str(bills[i]), 10_000 * i, "cash",
                    paid_at, "c1",
                )  # fmt: skip
                batch = contract.FieldPaymentBatch(
                    gateway_id="gw-chaos",
                    seq=i,
                    payments=(
                        contract.FieldPayment(
                            payment_id=f"fp-{i}",
                            account=f"01{i:09d}",
                            bill_id=str(bills[i]),
                            amount=10_000 * i,
                            receipt_no=f"R{i}",
                            cashier="c1",
                            ts=paid_at,
                            signature=signature_of(sign_receipt(receipt, receipt_key)),
                        ),
                    ),
                )
                store(engine, [batch])
                store(engine, [batch])  # at-least-once delivery

        storms = [threading.Thread(target=f) for f in (vnpay_storm, bank_storm, field_storm)]
        for t in storms:
            t.start()
        for _ in range(2):  # central dies twice in the middle of it
            time.sleep(0.5)
            proc.kill()
            proc.wait()
            proc = _start(cfg, log, base)
        for t in storms:
            t.join(120)
        sim.wait_ipns(60)
        deadline = time.monotonic() + 60
        with Session(engine) as s:
            while time.monotonic() < deadline:  # the sweeper: field cash, querydr
                s.expire_all()
                pending = s.scalar(
                    select(func.count())
                    .select_from(VnpayOrderRow)
                    .where(VnpayOrderRow.status == "pending")
                )
                booked = s.scalar(select(func.count()).select_from(PaymentRow))
                if pending == 0 and booked == 3 * N:
                    break
                time.sleep(0.2)
            rows = s.execute(select(PaymentRow.channel, PaymentRow.provider_ref)).all()
            assert len(rows) == 3 * N, sorted(rows)
            assert sorted(r for c, r in rows if c == "vnpay") == sorted(
                o["txn_ref"] for o in orders
            )
            assert sorted(r for c, r in rows if c == "bank") == sorted(t.ref for t in transfers)
            assert sorted(r for c, r in rows if c == "field") == sorted(
                f"fp-{i}" for i in range(2 * N + 1, 3 * N + 1)
            )
            states = s.scalars(select(BillRow.state)).all()
            assert states == ["paid"] * (3 * N)
            books = ledger.totals(s)
            assert books.balances, books
            assert books.paid == sum(10_000 * i for i in range(1, 3 * N + 1))
        print(
            f"chaos: {3 * N} payments, each once; IPN answers "
            f"{sorted({rsp for _, _, rsp in sim.ipn_log})}; ledger {books}"
        )
    finally:
        stop(proc)
        sim.stop()
        engine.dispose()
