"""Central counts a field payment as money only when its receipt signature verifies against the
enrolled key of the gateway it came from; and its own clock bounds the statuses and events it
accepts. On SQLite and PostgreSQL, through ingest's parse and store as the worker calls them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.ingest import FieldPaymentRow, GatewayEventRow, GatewayRow, QuarantineRow
from central.identity.enrollment import enroll, revoke
from central.ingest.parse import parse
from central.ingest.store import StoreResult, store
from contract import mqtt as contract
from contract.command_signature import public_key_text
from contract.receipt_signature import ReceiptFields, sign_receipt, signature_of

NOW = datetime.now(UTC).replace(microsecond=0)
KEY_A = Ed25519PrivateKey.generate()
KEY_B = Ed25519PrivateKey.generate()


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    for gw, key in (("gw-a", KEY_A), ("gw-b", KEY_B)):
        enroll(
            engine,
            gw,
            public_key_text(key.public_key()),
            password_file=tmp_path / "gateways.passwd",
            now=NOW,
        )
    yield engine
    engine.dispose()


def payment(
    n: int,
    *,
    amount: int = 250_000,
    key: Ed25519PrivateKey = KEY_A,
    signer: str = "gw-a",
    **kw: Any,
) -> contract.FieldPayment:
    fields = ReceiptFields(signer, f"R-{n}", "01234567890", "HD-1", amount, "cash", NOW, "Lan")
    values: dict[str, Any] = {
        "payment_id": f"P-{n}",
        "account": "01234567890",
        "bill_id": "HD-1",
        "amount": amount,
        "receipt_no": f"R-{n}",
        "cashier": "Lan",
        "ts": NOW,
        "signature": signature_of(sign_receipt(fields, key)),
    }
    values.update(kw)
    return contract.FieldPayment(**values)


def send(engine: Engine, gw: str, *payments: contract.FieldPayment, seq: int = 0) -> StoreResult:
    batch = contract.FieldPaymentBatch(gateway_id=gw, seq=seq, payments=payments)
    return store(engine, [parse(contract.topic(gw, "payments"), batch.model_dump_json().encode())])  # type: ignore[list-item]


def stored(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {p.payment_id: p.amount for p in s.scalars(select(FieldPaymentRow))}


def quarantined(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return [q.reason for q in s.scalars(select(QuarantineRow).order_by(QuarantineRow.id))]


def alerts(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as s:
        rows = s.scalars(select(GatewayEventRow).where(GatewayEventRow.kind == "receipt_refused"))
        return sorted((e.subject, e.severity, json.loads(e.detail)["reason"]) for e in rows)


def test_only_verified_receipts_become_money(engine: Engine, tmp_path: Path) -> None:
    good = payment(1)
    result = send(engine, "gw-a", good)
    assert (result.payments_new, result.payments_refused) == (1, 0)
    forged = [
        payment(2, signature="not-a-signature"),  # the forgery
        payment(3, amount=5_000_000, signature=payment(3).signature),  # amount raised after
        payment(4, account="09999999999", signature=payment(4).signature),  # other account
        payment(5, key=KEY_B),  # signed by another gateway's key
        payment(6, currency="USD"),  # the currency is not signed: only VND counts
        payment(7, signature=""),  # no signature at all
    ]
    result = send(engine, "gw-a", *forged, seq=1)
    assert (result.payments_new, result.payments_refused, result.quarantined) == (0, 6, 6)
    assert stored(engine) == {"P-1": 250_000}
    reasons = quarantined(engine)
    assert "P-2" in reasons[0]
    assert "bad signature" in reasons[0]
    assert all("does not match" in r for r in reasons[1:4])
    assert "VND" in reasons[4]
    assert "bad signature" in reasons[5]
    raised = alerts(engine)
    assert [s for s, _, _ in raised] == ["P-2", "P-3", "P-4", "P-5", "P-6", "P-7"]
    assert {sev for _, sev, _ in raised} == {"error"}
    # A redelivery of the good one is a no-op, not a refusal.
    again = send(engine, "gw-a", good)
    assert (again.payments_new, again.payments_refused) == (0, 0)


def test_unknown_revoked_or_replayed_receipts_are_not_counted(
    engine: Engine, tmp_path: Path
) -> None:
    # A gateway never enrolled, and B's valid receipt arriving on A's topic.
    assert send(engine, "gw-z", payment(1, signer="gw-z")).payments_refused == 1
    assert send(engine, "gw-a", payment(2, key=KEY_B, signer="gw-b")).payments_refused == 1
    # The same printed receipt again under a new payment id, later and in one batch.
    assert send(engine, "gw-a", payment(3)).payments_new == 1
    twice = payment(3, payment_id="P-3-again")
    assert send(engine, "gw-a", twice, seq=1).payments_refused == 1
    pair = send(engine, "gw-a", payment(4), payment(4, payment_id="P-4-again"), seq=2)
    assert (pair.payments_new, pair.payments_refused) == (1, 1)
    # A forgery ahead of the real receipt in one batch does not crowd the real one out.
    fake_first = payment(8, payment_id="P-8-fake", amount=9_000_000, signature=payment(8).signature)
    mixed = send(engine, "gw-a", fake_first, payment(8), seq=3)
    assert (mixed.payments_new, mixed.payments_refused) == (1, 1)
    # Revoked: even a correctly signed receipt is quarantined.
    revoke(engine, "gw-b", password_file=tmp_path / "gateways.passwd", now=NOW)
    assert send(engine, "gw-b", payment(5, key=KEY_B, signer="gw-b")).payments_refused == 1
    assert stored(engine) == {"P-3": 250_000, "P-4": 250_000, "P-8": 250_000}
    reasons = " | ".join(quarantined(engine))
    for words in ("not enrolled", "does not match", "already counted", "already in this batch"):
        assert words in reasons
    assert "revoked" in reasons


def _status(gw: str, state: str, ts: datetime) -> Any:
    body = contract.GatewayStatus(gateway_id=gw, state=state, ts=ts)  # type: ignore[arg-type]
    return parse(contract.topic(gw, "status"), body.model_dump_json().encode())


def test_a_status_from_the_future_cannot_pin_a_gateway(engine: Engine) -> None:
    # Year 9999 is outside the contract's window: the message itself is refused (raw JSON, as
    # a hostile gateway would send it). Next month is inside the window but ahead of central's
    # clock. Both are quarantined; neither pins the gateway offline.
    year_9999 = b'{"v":1,"gateway_id":"gw-a","state":"offline","ts":"9999-12-31T00:00:00Z"}'
    result = store(engine, [parse(contract.topic("gw-a", "status"), year_9999)])
    assert (result.quarantined, result.future_dated) == (1, 0)
    assert "9999-12-31" in quarantined(engine)[0]
    assert "outside 2000-01-01 .. 2100-01-01" in quarantined(engine)[0]
    month_ahead = store(engine, [_status("gw-a", "offline", NOW + timedelta(days=30))])
    assert (month_ahead.future_dated, month_ahead.quarantined) == (1, 1)
    assert "after central's clock" in quarantined(engine)[1]
    store(engine, [_status("gw-a", "online", datetime.now(UTC))])
    with Session(engine) as s:
        gw = s.get(GatewayRow, "gw-a")
        assert gw is not None
        assert gw.state == "online"
    # Skew within the bound is accepted; an event or reply from the future is refused too.
    ahead = datetime.now(UTC) + timedelta(minutes=2)
    ok = store(engine, [_status("gw-a", "online", ahead)])
    assert ok.future_dated == 0
    later = NOW + timedelta(days=1)
    event = contract.Event(gateway_id="gw-a", kind="device_up", ts=later)
    reply = contract.CommandReply(gateway_id="gw-a", command_id="c", ok=True, ts=later)
    late = store(
        engine,
        [
            parse(contract.topic("gw-a", "events"), event.model_dump_json().encode()),
            parse(contract.topic("gw-a", "replies"), reply.model_dump_json().encode()),
        ],  # type: ignore[list-item]
    )
    assert late.future_dated == 2
    with Session(engine) as s:
        gw = s.get(GatewayRow, "gw-a")
        assert gw is not None
        assert gw.status_ts is not None
        assert gw.status_ts < datetime.now(UTC) + timedelta(minutes=5)
