"""Ingest's store on SQLite and PostgreSQL: idempotent readings, conflicts, gaps, status,
quarantine, events, payments and replies — checked through the REST API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.readings import ReadingRow
from central.identity.enrollment import enroll
from central.ingest.parse import parse
from central.ingest.store import store
from contract import mqtt as contract
from contract.command_signature import public_key_text
from contract.receipt_signature import ReceiptFields, sign_receipt, signature_of
from tests.support.api import Api
from tests.support.readings import reading

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _batch(seq: int, ks: range, gw: str = "gw-a", bump: float = 0.0) -> contract.ReadingsBatch:
    readings = tuple(
        r.model_copy(update={"value": r.value + bump}) for r in (reading(k) for k in ks)
    )
    return contract.ReadingsBatch(gateway_id=gw, seq=seq, sent_at=NOW, readings=readings)


def _msg(payload: contract.ReadingsBatch | contract.GatewayStatus) -> object:
    topic = contract.topic(payload.gateway_id, "readings" if hasattr(payload, "seq") else "status")
    return parse(topic, payload.model_dump_json().encode())


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(ReadingRow)) or 0)


def test_redelivery_is_a_no_op_and_a_different_value_is_flagged(engine: Engine) -> None:
    first = store(engine, [_batch(0, range(100))])
    again = store(engine, [_batch(0, range(100)), _batch(0, range(100))])
    assert (first.readings_new, first.duplicates) == (100, 0)
    assert (again.readings_new, again.duplicates, again.conflicts) == (0, 200, 0)
    changed = store(engine, [_batch(1, range(95, 105), bump=1.0)])
    assert (changed.readings_new, changed.conflicts) == (5, 5)
    assert _count(engine) == 105
    api = Api(engine)
    rows = api.get("/api/v1/ingest/conflicts").json()
    assert sorted((r["stored_value"], r["received_value"]) for r in rows) == [
        (k * 0.25, k * 0.25 + 1.0) for k in range(95, 100)
    ]
    # The stored value is the first one.
    got = api.get("/api/v1/meters/m-1/readings", params={"limit": 200}).json()
    assert {r["value"] for r in got if r["ts"].startswith("2026-01-01T00:01:3")} <= {
        k * 0.25 for k in range(90, 100)
    }


def test_gaps_open_and_close_as_late_messages_arrive(engine: Engine) -> None:
    api = Api(engine)
    store(engine, [_batch(s, range(s * 10, s * 10 + 10)) for s in (0, 1, 2, 5, 6, 9)])
    gaps = api.get("/api/v1/gateways/gw-a/gaps").json()
    assert [(g["first_seq"], g["last_seq"], g["missing"]) for g in gaps] == [
        (3, 4, 2),
        (7, 8, 2),
    ]
    store(engine, [_batch(4, range(40, 50)), _batch(7, range(70, 80))])
    gaps = api.get("/api/v1/gateways/gw-a/gaps").json()
    assert [(g["first_seq"], g["last_seq"]) for g in gaps] == [(3, 3), (8, 8)]
    store(engine, [_batch(3, range(30, 40)), _batch(8, range(80, 90)), _batch(3, range(30, 40))])
    assert api.get("/api/v1/gateways/gw-a/gaps").json() == []
    gw = api.get("/api/v1/gateways/gw-a").json()
    assert (gw["readings_seq"], gw["open_gaps"], gw["missing_messages"]) == (9, 0, 0)
    assert _count(engine) == 100


def test_status_online_offline_and_last_seen(engine: Engine) -> None:
    api = Api(engine)
    t0 = datetime.now(UTC) - timedelta(1)  # not in the future: that would be refused
    online = contract.GatewayStatus(gateway_id="gw-s", state="online", ts=t0, software="x 1")
    offline = contract.GatewayStatus(gateway_id="gw-s", state="offline", ts=t0 + timedelta(1))
    store(engine, [_msg(online)])  # type: ignore[list-item]
    (gw,) = api.get("/api/v1/gateways").json()
    assert (gw["state"], gw["software"]) == ("online", "x 1")
    seen = gw["last_seen"]
    store(engine, [_msg(offline)])  # type: ignore[list-item]
    gw = api.get("/api/v1/gateways/gw-s").json()
    assert gw["state"] == "offline"
    assert gw["last_seen"] == seen  # a Last Will is the broker speaking, not the gateway
    store(engine, [_msg(online)])  # an older status changes nothing
    assert api.get("/api/v1/gateways/gw-s").json()["state"] == "offline"
    assert api.get("/api/v1/gateways/nope").status_code == 404


def test_malformed_payloads_are_quarantined_and_the_rest_stored(engine: Engine) -> None:
    good = _batch(0, range(10))
    items = [
        parse("m2c/v1/gw/gw-a/readings", b"{not json"),
        parse("m2c/v1/gw/gw-b/readings", good.model_dump_json().encode()),  # wrong gateway
        parse(
            "m2c/v1/gw/gw-a/readings",
            b'{"v":1,"gateway_id":"gw-a","seq":1,"sent_at":'
            b'"2026-01-01T00:00:00Z","readings":[{"meter_id":"m","quantity":"x",'
            b'"value":"NaN","unit":"","ts":"2026-01-01T00:00:00"}]}',
        ),
        parse("somewhere/else", b"{}"),
        parse("m2c/v1/gw/gw-a/readings", good.model_dump_json().encode()),
    ]
    assert [type(i).__name__ for i in items] == ["Rejected"] * 2 + ["Partial", "Rejected"] + [
        "ReadingsBatch"
    ]
    result = store(engine, items)  # type: ignore[arg-type]
    assert (result.quarantined, result.readings_new) == (4, 10)
    page = Api(engine).get("/api/v1/ingest/quarantine").json()
    assert page["total"] == 4
    reasons = " | ".join(i["reason"] for i in page["items"])
    assert "does not match the topic" in reasons
    assert "not under m2c/v1/gw" in reasons
    assert "readings.0" in reasons  # where in the payload
    assert any(i["payload"] == "{not json" for i in page["items"])


def test_events_payments_and_replies_are_stored_once(engine: Engine, tmp_path: Path) -> None:
    ev = contract.Event(gateway_id="gw-a", kind="outbox_dropped", ts=NOW, detail={"count": 3})
    key = Ed25519PrivateKey.generate()
    enroll(
        engine,
        "gw-a",
        public_key_text(key.public_key()),
        password_file=tmp_path / "gateways.passwd",
        now=NOW,
    )
    fields = ReceiptFields("gw-a", "R-1", "01234567890", "", 150_000, "cash", NOW, "An")
    pay = contract.FieldPayment(
        payment_id="P-1",
        account="01234567890",
        amount=150_000,
        receipt_no="R-1",
        cashier="An",
        ts=NOW,
        signature=signature_of(sign_receipt(fields, key)),
    )
    batch = contract.FieldPaymentBatch(gateway_id="gw-a", seq=0, payments=(pay,))
    reply = contract.CommandReply(gateway_id="gw-a", command_id="c1", ok=True, ts=NOW)
    items = [
        parse(contract.topic("gw-a", "events"), ev.model_dump_json().encode()),
        parse(contract.topic("gw-a", "payments"), batch.model_dump_json().encode()),
        parse(contract.topic("gw-a", "replies"), reply.model_dump_json().encode()),
    ]
    first = store(engine, items)  # type: ignore[arg-type]
    store(engine, items)  # type: ignore[arg-type]
    assert first.payments_new == 1
    forged = batch.model_copy(
        update={"seq": 1, "payments": (pay.model_copy(update={"amount": 1}),)}
    )
    again = store(
        engine,
        [parse(contract.topic("gw-a", "payments"), forged.model_dump_json().encode())],  # type: ignore[list-item]
    )
    assert (again.payments_new, again.quarantined) == (0, 1)
    api = Api(engine)
    evs = api.get("/api/v1/gateways/gw-a/events").json()
    assert [e["kind"] for e in evs] == ["receipt_refused", "outbox_dropped"]  # newest first
    assert evs[1]["detail"] == {"count": 3}
    assert evs[0]["subject"] == "P-1"  # the altered payment, raised as an alert
    assert [r["command_id"] for r in api.get("/api/v1/gateways/gw-a/replies").json()] == ["c1"]
    q = api.get("/api/v1/ingest/quarantine").json()
    assert "P-1" in q["items"][0]["reason"]


def test_the_largest_sequence_numbers_fit_gaps_and_their_sums(engine: Engine) -> None:
    top = contract.MAX_SEQ
    pay = contract.FieldPayment(
        payment_id="P-big",
        account="01234567890",
        amount=1,
        receipt_no="R",
        cashier="An",
        ts=NOW,
        signature="c2ln",
    )
    store(
        engine,
        [
            _batch(top, range(1)),
            contract.FieldPaymentBatch(gateway_id="gw-a", seq=top, payments=(pay,)),
        ],
    )
    api = Api(engine)
    gw = api.get("/api/v1/gateways/gw-a").json()
    assert gw["readings_seq"] == top
    assert gw["open_gaps"] == 2
    assert gw["missing_messages"] == 2 * top  # beyond 64 bits, and still right
    assert [g["missing"] for g in api.get("/api/v1/gateways/gw-a/gaps").json()] == [top, top]
    assert api.get("/api/v1/gateways").status_code == 200
