"""A field cashier over real SQLite stores in one directory, as the gateway wires it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract.bill_cache import BillCachePush
from drivers.escpos.profile import profile
from drivers.escpos.template import load_template
from gateway.cashier.cache import BillCache
from gateway.cashier.payments import PaymentLedger
from gateway.cashier.service import Cashier
from gateway.printing.queue import PrintQueue

ROOT = Path(__file__).parents[2]
PUSH = BillCachePush.model_validate_json(
    (ROOT / "config" / "samples" / "bill_cache_route.json").read_text(encoding="utf-8")
)
BILL = "HD-2611-0001"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)


def make_cashier(directory: Path, *, profile_name: str = "generic-58") -> Cashier:
    db = directory / "cashier.db"
    return Cashier(
        gateway_id="gw-camau-01",
        cache=BillCache(db),
        ledger=PaymentLedger(db),
        queue=PrintQueue(db),
        printer="field",
        profile=profile(profile_name),
        notice_template=load_template(ROOT / "config" / "templates" / "notice.toml"),
        receipt_template=load_template(ROOT / "config" / "templates" / "receipt.toml"),
        signing_key=KEY,
        cashier_name="Trần Văn Bình",
        cashier_phone="0913 123 456",
        receipt_prefix="BN01",
        clock=lambda: NOW,
    )
