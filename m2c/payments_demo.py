"""The demo's payments: three bills paid three ways — VNPay (the simulator's pay page and IPN),
a VietQR bank transfer (the bank simulator's webhook) and cash in the field (a gateway's
field payment, swept onto the ledger) — then the day's reconciliation against VNPay's report
and the bank statement.

    demo = PaymentsDemo(base)          # starts the simulators; before central is created
    create_app(engine, payments=demo.settings)
    print(demo.run(engine))            # once central serves ``base``
    demo.stop()
"""

from __future__ import annotations

import secrets
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from sqlalchemy import Engine, select

from central.db.engine import writer_sessions
from central.db.models.billing import BillRow
from central.db.models.records import CustomerRow, UtilityRow
from central.identity.enrollment import enroll
from central.ingest.store import store
from central.payments import field
from central.records.customers import BEN_THANH
from central.settings import BankSettings, PaymentsSettings, VnpaySettings
from contract import mqtt as contract
from contract.command_signature import public_key_text
from contract.receipt_signature import ReceiptFields, sign_receipt, signature_of
from simulators.payments.bank import GMT7, BankSim
from simulators.payments.vnpay import VnpaySim

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # keys made before any clock the server runs on

BILLS = (
    ("01000000901", "Dương Tấn Hiền", 78_255),
    ("01000000902", "Trần Thị Lan", 120_000),
    ("01000000903", "Nguyễn Văn Bình", 95_000),
)

DEMO_GATEWAY = "demo-gw"  # the field gateway whose cashier takes the third bill's cash


class PaymentsDemo:
    def __init__(self, base: str) -> None:
        self.base = base
        secret, key = secrets.token_hex(16), secrets.token_hex(16)
        self.vnpay = VnpaySim(
            tmn_code="M2CDEMO1", secret=secret, ipn_url=f"{base}/api/v1/payments/vnpay/ipn"
        ).start()
        self.bank = BankSim(webhook_url=f"{base}/api/v1/payments/bank/webhook", api_key=key)
        self.settings = PaymentsSettings(
            vnpay=VnpaySettings(
                tmn_code="M2CDEMO1",
                hash_secret=SecretStr(secret),
                pay_url=f"{self.vnpay.url}/paymentv2/vpcpay.html",
                api_url=f"{self.vnpay.url}/merchant_webapi/api/transaction",
                return_url=f"{base}/api/v1/payments/vnpay/return",
            ),
            bank=BankSettings(api_key=SecretStr(key)),
        )

    def stop(self) -> None:
        self.vnpay.stop()

    def _seed(self, engine: Engine) -> list[int]:
        now = datetime.now(UTC)
        ids = []
        with writer_sessions(engine)() as s:  # the sweepers write meanwhile
            if s.get(UtilityRow, BEN_THANH.code) is None:
                s.add(UtilityRow(**BEN_THANH.model_dump()))
            for account, name, total in BILLS:
                c = s.scalar(select(CustomerRow).where(CustomerRow.account_no == account))
                if c is None:
                    c = CustomerRow(
                        utility_code=BEN_THANH.code,
                        account_no=account,
                        name=name,
                        tariff_code="camau-water-city",
                        created_at=now,
                        updated_at=now,
                    )
                    s.add(c)
                    s.flush()
                bill = BillRow(
                    customer_id=c.id,
                    account_no=account,
                    tariff_code="camau-water-city",
                    period_start=date(2026, 11, 1),
                    period_end=date(2026, 11, 30),
                    previous_index=264.0,
                    current_index=275.0,
                    consumption=11.0,
                    lines_json="[]",
                    subtotal=total,
                    tax_total=0,
                    total=total,
                    currency="VND",
                    state="issued",
                    created_at=now,
                    issued_at=now,
                )
                s.add(bill)
                s.flush()
                ids.append(bill.id)
            s.commit()
        return ids

    def _field_receipt(self, engine: Engine, bill_id: str) -> contract.FieldPayment:
        """A cashier's receipt as the demo gateway signs it, its key enrolled at central (a
        receipt that does not verify would be quarantined, never counted)."""
        key = Ed25519PrivateKey.generate()
        with tempfile.TemporaryDirectory() as tmp:
            enroll(
                engine,
                DEMO_GATEWAY,
                public_key_text(key.public_key()),
                password_file=Path(tmp) / "gateways.passwd",
                now=datetime.now(UTC),
                note="demo",
            )
        now = datetime.now(UTC).replace(microsecond=0)
        account, amount = BILLS[2][0], BILLS[2][2]
        fields = ReceiptFields(DEMO_GATEWAY, "BN-0001", account, bill_id, amount, "cash", now,
                               "thu-ngan-demo")  # fmt: skip
        return contract.FieldPayment(
            payment_id=f"demo-{secrets.token_hex(4)}",
            account=account,
            bill_id=bill_id,
            amount=amount,
            receipt_no="BN-0001",
            cashier="thu-ngan-demo",
            ts=now,
            signature=signature_of(sign_receipt(fields, key)),
        )

    def run(self, engine: Engine, *, api_key: str) -> str:
        """Pay three bills three ways and reconcile the day; the API is called with
        ``api_key`` (an operator's or admin's key)."""
        vn_bill, qr_bill, cash_bill = self._seed(engine)
        out = []
        headers = {"X-API-Key": api_key}
        with httpx.Client(base_url=self.base, timeout=30, headers=headers) as api:
            order = api.post(
                "/api/v1/payments/vnpay/orders",
                json={"bill_ids": [vn_bill]},
                headers={"Idempotency-Key": secrets.token_hex(8)},
            ).json()
            with httpx.Client(timeout=30) as browser:
                browser.get(order["payment_url"])
                ref = order["txn_ref"]
                browser.get(f"{self.vnpay.url}/paymentv2/choose?ref={ref}&outcome=approved")
            self.vnpay.wait_ipns()
            out.append(f"VNPay order {ref} for bill {vn_bill}: {order['amount']:,} VND")
            t = self.bank.credit(BILLS[1][2], f"CT DEN TT {BILLS[1][0]} tien nuoc")
            out.append(f"VietQR transfer {t.ref} for bill {qr_bill}: {t.amount:,} VND")
            store(
                engine,
                [
                    contract.FieldPaymentBatch(
                        gateway_id=DEMO_GATEWAY,
                        seq=1,
                        payments=(self._field_receipt(engine, str(cash_bill)),),
                    )
                ],
            )
            field.sweep(engine, clock=lambda: datetime.now(UTC))
            out.append(f"field cash receipt BN-0001 for bill {cash_bill}: {BILLS[2][2]:,} VND")
            for bill in (vn_bill, qr_bill, cash_bill):
                out.append(f"  bill {bill}: {api.get(f'/api/v1/bills/{bill}').json()['state']}")
            today = datetime.now(GMT7).date().isoformat()
            report = httpx.get(f"{self.vnpay.url}/report", params={"date": today}).content
            api.post("/api/v1/payments/vnpay/reports", content=report)
            api.post(
                "/api/v1/payments/bank/statements",
                params={"filename": "saoke.csv"},
                content=self.bank.statement_csv(today),
            )
            for channel in ("vnpay", "bank"):
                r = api.post(f"/api/v1/payments/reconciliation/{channel}/{today}").json()
                out.append(
                    f"reconciliation {channel} {today}: {r['matched']} matched, "
                    f"{r['suggested']} suggested, {r['lines_without_payment']} + "
                    f"{r['payments_without_line']} unmatched"
                )
            rep = api.get(
                "/api/v1/payments/reports/collections", params={"start": today, "end": today}
            ).json()
            out.append(f"collections {today} by channel: {rep['totals']['channel']}")
        return "\n".join(f"  {line}" for line in out)
