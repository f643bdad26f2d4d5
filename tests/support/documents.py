"""Sample documents: a Cà Mau electricity bill notice and its receipt."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract.receipt_signature import ReceiptFields, receipt_url, sign_receipt
from drivers.escpos.documents import BillNotice, Charge, Party, Payee, Receipt, TariffLine

ICT = timezone(timedelta(hours=7))
GATEWAY = "gw-camau-01"
VERIFY_URL = "https://m2c.example.vn"


def sample_notice(
    *, customer: str = "Nguyễn Thị Hồng Nhung", bill_id: str = "HD-2611-0001"
) -> BillNotice:
    lines = (
        TariffLine("Bậc 1 (0-50 kWh)", 50, 1984, 99200),
        TariffLine("Bậc 2 (51-100 kWh)", 50, 2050, 102500),
        TariffLine("Bậc 3 (101-200 kWh)", 66, 2380, 157080),
    )
    subtotal = sum(x.amount for x in lines)
    vat = subtotal * 8 // 100
    return BillNotice(
        bill_id=bill_id,
        utility=Party(
            "Công ty Điện lực Cà Mau",
            tax_code="2000113426",
            address="Số 99 Ngô Quyền, phường 1, TP Cà Mau",
            hotline="19001006",
        ),
        customer=customer,
        account="PB14010012345",
        address="Số 12 Nguyễn Huệ, phường 2, TP Cà Mau",
        period="11/2026",
        old_index=12034,
        new_index=12200,
        unit="kWh",
        lines=lines,
        charges=(Charge("Thuế GTGT 8%", vat, Decimal(8)),),
        total=subtotal + vat,
        due=date(2026, 12, 5),
        cashier_name="Trần Văn Bình",
        cashier_phone="0913 123 456",
        payee=Payee("970436", "0071000123456", "Vietcombank"),
        phone="0939 123 456",
    )


def sample_receipt(key: Ed25519PrivateKey, *, receipt_no: str = "BN-01-000123") -> Receipt:
    notice = sample_notice()
    paid_at = datetime(2026, 11, 23, 9, 30, tzinfo=ICT)
    fields = ReceiptFields(
        GATEWAY,
        receipt_no,
        notice.account,
        notice.bill_id,
        notice.total,
        "cash",
        paid_at,
        "Trần Văn Bình",
    )
    return Receipt(
        notice=notice,
        receipt_no=receipt_no,
        paid=notice.total,
        method="cash",
        paid_at=paid_at,
        cashier="Trần Văn Bình",
        gateway_id=GATEWAY,
        verification=receipt_url(sign_receipt(fields, key), VERIFY_URL),
    )
