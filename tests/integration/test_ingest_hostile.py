"""Hostile input against MQTT ingest: a real Mosquitto, a real ingest worker, SQLite and
PostgreSQL. Every class of bad payload is published, each followed by a good message that must
be stored; the bad ones are quarantined with their reason (and, where the gateway and number
can be read, acknowledged to the gateway like stored ones); the worker stays alive and its
counts are exposed at /healthz and /metrics. Each of these payloads used to stop ingest: the
store thread died (timestamps overflowing UTC, seq 2^63 on SQLite) or retried forever on
PostgreSQL (seq 2^63, NUL, strings longer than their columns), and /healthz still said ok."""

# The table of cases reads best as one case per line:
# ruff: noqa: E501

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, event, func, select, text

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.ingest import QuarantineRow
from central.db.models.readings import ReadingRow
from central.ingest.worker import IngestWorker
from central.settings import BrokerSettings
from contract import mqtt as contract
from tests.support.api import Api
from tests.support.broker import Mosquitto
from tests.support.mqtt import Collector, wait_for
from tests.support.tcpproxy import TcpProxy

GW = "gw-h"
TS = "2026-02-01T00:00:00Z"


def _reading(**over: object) -> dict[str, object]:
    r: dict[str, object] = {
        "meter_id": "m-h",
        "quantity": "energy_import",
        "value": 1.5,
        "unit": "kWh",
        "ts": TS,
    }
    r.update(over)
    return r


def _batch(seq: object = 0, readings: object = None, **over: object) -> bytes:
    b: dict[str, object] = {
        "v": 1,
        "gateway_id": GW,
        "seq": seq,
        "sent_at": TS,
        "readings": readings if readings is not None else [_reading()],
    }
    b.update(over)
    return json.dumps(b).encode()


def _reading_raw(field: str, raw: str) -> bytes:
    """A batch whose one reading has ``field`` set to the JSON text ``raw`` as is."""
    marker = "__RAW__"
    body = _batch(readings=[_reading(**{field: marker})]).decode()
    return body.replace(f'"{marker}"', raw).encode()


def _event(**over: object) -> bytes:
    e: dict[str, object] = {"v": 1, "gateway_id": GW, "kind": "device_down", "ts": TS}
    e.update(over)
    return json.dumps(e).encode()


def _payment(**over: object) -> bytes:
    p: dict[str, object] = {
        "payment_id": "P-h",
        "account": "01234567890",
        "amount": 100,
        "receipt_no": "R-1",
        "cashier": "An",
        "ts": TS,
        "signature": "c2ln",
    }
    p.update(over)
    return json.dumps({"v": 1, "gateway_id": GW, "seq": 0, "payments": [p]}).encode()


@dataclass(frozen=True)
class Case:
    name: str
    channel: str
    payload: bytes
    says: str  # a word of the quarantine reason
    acked_seq: int | None = None  # the readings seq central acknowledges for it


CASES = [
    Case("ts overflows UTC (late)", "readings", _batch(readings=[_reading(ts="9999-12-31T23:00:00-05:00")], seq=11), "overflows", 11),
    Case("ts overflows UTC (early)", "readings", _batch(readings=[_reading(ts="0001-01-01T00:00:00+01:00")], seq=12), "overflows", 12),
    Case("ts implausible", "readings", _batch(readings=[_reading(ts="1970-01-01T00:00:00Z")], seq=13), "outside", 13),
    Case("sent_at overflows", "readings", _batch(seq=14, sent_at="9999-12-31T23:59:59-23:59"), "overflows", 14),
    Case("seq 2^63", "readings", _batch(seq=2**63), "less than or equal"),
    Case("seq negative", "readings", _batch(seq=-1), "greater than or equal"),
    Case("NUL in unit", "readings", _batch(readings=[_reading(unit="k\u0000Wh")], seq=15), "control character", 15),
    Case("NUL in meter id", "readings", _batch(readings=[_reading(meter_id="m\u0000")], seq=16), "meter id", 16),
    Case("lone surrogate", "readings", _batch(readings=[_reading(unit="\ud800")], seq=17), "Invalid JSON", 17),
    Case("unit longer than its column", "readings", _batch(readings=[_reading(unit="u" * 17)], seq=18), "at most 16", 18),
    Case("meter id longer than its column", "readings", _batch(readings=[_reading(meter_id="m" * 65)], seq=19), "meter id", 19),
    Case("quality list of 100,000", "readings", _batch(readings=[_reading(quality=["stale"] * 100_000)], seq=20), "at most 6", 20),
    Case("NaN", "readings", _reading_raw("value", "NaN"), "finite", 0),
    Case("Infinity", "readings", _reading_raw("value", "Infinity"), "finite", 0),
    Case("1e400", "readings", _reading_raw("value", "1e400"), "finite", 0),
    Case("value of the wrong type", "readings", _batch(readings=[_reading(value="abc")], seq=21), "valid number", 21),
    Case("seq of the wrong type", "readings", _batch(seq="1"), "valid integer"),
    Case("readings not a list", "readings", _batch(readings={"a": 1}), "readings", 0),
    Case("batch of 10,001", "readings", _batch(seq=22, readings=[_reading()] * 10_001), "at most 10000", 22),
    Case("message over 4 MiB", "readings", b'{"v":1,"pad":"' + b"x" * (4 * 1024 * 1024) + b'"}', "exceeds the limit"),
    Case("invalid JSON", "readings", b"{not json", "invalid readings payload"),
    Case("invalid UTF-8", "readings", b"\xff\xfe\x00garbage", "invalid readings payload"),
    Case("empty", "readings", b"", "invalid readings payload"),
    Case("nested 100,000 deep", "readings", b"[" * 100_000 + b"]" * 100_000, "invalid readings payload"),
    Case("unknown key", "readings", _batch(seq=23, extra=1), "extra", 23),
    Case("other gateway in payload", "readings", _batch(seq=24, gateway_id="gw-other"), "does not match", 24),
    Case("NUL in event subject", "events", _event(subject="s\u0000"), "control character"),
    Case("event subject of 10,000", "events", _event(subject="s" * 10_000), "at most 128"),
    Case("event ts overflows", "events", _event(ts="0001-01-01T00:00:00+01:00"), "overflows"),
    Case("status software NUL", "status", json.dumps({"v": 1, "gateway_id": GW, "state": "online", "ts": TS, "software": "x\u0000"}).encode(), "control character"),
    Case("reply id longer than its column", "replies", json.dumps({"v": 1, "gateway_id": GW, "command_id": "c" * 65, "ok": True, "ts": TS}).encode(), "at most 64"),
    Case("payment amount 2^63", "payments", _payment(amount=2**63), "less than or equal"),
    Case("payment account with NUL", "payments", _payment(account="0\u00001"), "control character"),
]  # fmt: skip


class Publisher:
    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="hostile", protocol=mqtt.MQTTv5
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, channel: str, payload: bytes) -> None:
        info = self.client.publish(contract.topic(GW, channel), payload, qos=1)  # type: ignore[arg-type]
        info.wait_for_publish(30)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _good(k: int) -> bytes:
    ts = (datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=k)).isoformat()
    return _batch(seq=1000 + k, readings=[_reading(meter_id="m-good", ts=ts, value=float(k))])


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def test_no_message_stops_ingest(mosquitto: Mosquitto, engine: Engine) -> None:
    worker = IngestWorker(BrokerSettings(port=mosquitto.port, client_id="ingest-h"), engine)
    worker.start()
    acks = Collector(mosquitto.port, contract.topic(GW, "ack"), client_id="acks-h")
    pub = Publisher(mosquitto.port)
    try:
        assert worker.connected.wait(10)
        for k, case in enumerate(CASES):
            pub.send(case.channel, case.payload)
            pub.send("readings", _good(k))
        wait_for(lambda: _count(engine, ReadingRow) == len(CASES), 60, "every good message")
        wait_for(lambda: worker.health().queued == 0, 30, "the queue drained")
        health = worker.health()
        assert health.alive
        assert health.database_ok
        with engine.connect() as conn:
            rows = conn.execute(
                select(QuarantineRow.topic, QuarantineRow.reason).order_by(QuarantineRow.id)
            ).all()
        assert len(rows) == len(CASES), "\n".join(r.reason for r in rows)
        for case, row in zip(CASES, rows, strict=True):
            assert case.says in row.reason, (case.name, row.reason)
            assert row.topic == contract.topic(GW, case.channel)  # type: ignore[arg-type]
        # Quarantined readings are acknowledged like stored ones, when their number is legible.
        want = {c.acked_seq for c in CASES if c.acked_seq is not None} | {
            1000 + k for k in range(len(CASES))
        }

        def acked(channel: str = "readings") -> set[int]:
            out: set[int] = set()
            for p in acks.on("/ack"):
                ack = contract.IngestAck.model_validate_json(p)
                if ack.channel == channel:
                    out |= {s for a, b in ack.seqs for s in range(a, b + 1)}
            return out

        wait_for(lambda: acked() >= want, 15, "acknowledgements of every legible number")
        assert acked() == want
        assert acked("payments") == {0}  # the two refused payment batches, both numbered 0
        # Counts exposed.
        api = Api(engine)
        api.app.state.ingest = worker
        assert api.get("/api/v1/ingest/quarantine").json()["total"] == len(CASES)
        page = api.get("/api/v1/ingest/quarantine").json()["items"]
        assert all("\x00" not in i["reason"] for i in page)
    finally:
        pub.close()
        acks.close()
        worker.stop()
    assert worker.totals.quarantined == len(CASES)
    assert worker.totals.readings_new == len(CASES)


def test_one_bad_reading_leaves_the_rest_of_its_batch(mosquitto: Mosquitto, engine: Engine) -> None:
    worker = IngestWorker(BrokerSettings(port=mosquitto.port, client_id="ingest-p"), engine)
    worker.start()
    pub = Publisher(mosquitto.port)
    try:
        assert worker.connected.wait(10)
        readings = [_reading(ts=f"2026-02-01T00:00:0{k}Z", value=float(k)) for k in range(5)]
        readings[2] = _reading(ts="9999-12-31T23:00:00-05:00")
        readings[4] = _reading(ts="2026-02-01T00:00:04Z", value=-3.0)  # a negative register
        pub.send("readings", _batch(seq=0, readings=readings))
        wait_for(lambda: _count(engine, ReadingRow) == 4, 20, "the four good readings")
        wait_for(lambda: _count(engine, QuarantineRow) == 1, 20, "the bad one quarantined")
        with engine.connect() as conn:
            reason = conn.scalar(select(QuarantineRow.reason))
            flags = dict(conn.execute(select(ReadingRow.value, ReadingRow.quality)).all())
        assert "readings.2.ts" in str(reason)
        assert "seq 0" in str(reason)
        assert flags == {0.0: "", 1.0: "", 3.0: "", -3.0: "implausible"}
        gw = Api(engine).get(f"/api/v1/gateways/{GW}").json()
        assert (gw["readings_seq"], gw["open_gaps"]) == (0, 0)
    finally:
        pub.close()
        worker.stop()


def _refuse(engine: Engine) -> None:
    """A rule the contract does not know: the database refuses one meter's readings."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON readings WHEN NEW.meter_id = 'm-bad'"
                    " BEGIN SELECT RAISE(ABORT, 'meter m-bad is refused'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                    " IF NEW.meter_id = 'm-bad' THEN RAISE EXCEPTION 'meter m-bad is refused';"
                    " END IF; RETURN NEW; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON readings FOR EACH ROW"
                    " EXECUTE FUNCTION refuse()"
                )
            )


def test_a_message_the_database_refuses_is_isolated_and_quarantined(
    mosquitto: Mosquitto, engine: Engine
) -> None:
    _refuse(engine)
    settings = BrokerSettings(port=mosquitto.port, client_id="ingest-r")
    first = IngestWorker(settings, engine)  # creates the session that keeps what follows
    first.start()
    assert first.connected.wait(10)
    first.stop()
    worker = IngestWorker(settings, engine, max_messages=50)
    pub = Publisher(mosquitto.port)
    try:
        for k in range(40):  # published while the worker is away: they arrive as one batch
            if k == 17:
                pub.send("readings", _batch(seq=500, readings=[_reading(meter_id="m-bad")]))
            pub.send("readings", _good(k))
        worker.start()
        wait_for(lambda: _count(engine, ReadingRow) == 40, 30, "the 40 good messages")
        wait_for(lambda: _count(engine, QuarantineRow) == 1, 10, "the refused one quarantined")
        with engine.connect() as conn:
            reason = str(conn.scalar(select(QuarantineRow.reason)))
        assert "could not be stored" in reason
        assert "m-bad is refused" in reason
        assert worker.isolated == 1
        assert worker.health().alive
    finally:
        pub.close()
        worker.stop()


def test_database_away_is_retried_shown_in_health_and_nothing_lost(
    mosquitto: Mosquitto, pg_url: str
) -> None:
    """PostgreSQL behind a relay the test cuts: connections refused, then back."""
    migrated = make_engine(pg_url)
    upgrade(migrated)
    proxy = TcpProxy(5432)
    engine = make_engine(pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"))
    worker = IngestWorker(BrokerSettings(port=mosquitto.port, client_id="ingest-d"), engine)
    worker.start()
    pub = Publisher(mosquitto.port)
    api = Api(migrated)
    api.app.state.ingest = worker
    try:
        assert worker.connected.wait(10)
        pub.send("readings", _good(0))
        wait_for(lambda: worker.totals.readings_new == 1, 20, "the first message")
        proxy.down()
        for k in range(1, 11):
            pub.send("readings", _good(k))
        wait_for(lambda: not worker.health().database_ok, 30, "health to see the database away")
        health = api.get("/healthz")
        assert health.status_code == 503  # ingest cannot store: failed ...
        ingest = health.json()["ingest"]
        assert ingest["status"] == "failed"
        assert ingest["alive"] is True  # ... but alive and waiting: the watchdog is still fed
        assert ingest["database_ok"] is False
        assert ingest["db_failures"] >= 1
        assert ingest["last_error"]
        assert "m2c_ingest_database_ok 0.0" in api.get("/metrics").text
        proxy.up()
        wait_for(lambda: worker.totals.readings_new == 11, 60, "the rest after the outage")
        assert worker.health().database_ok
        assert worker.totals.quarantined == 0
    finally:
        pub.close()
        worker.stop()
        proxy.close()
        engine.dispose()
        migrated.dispose()


def test_a_locked_sqlite_database_is_waited_for(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """SQLite's "database is locked" (another writer holding the lock past the busy timeout)
    is retried, never quarantined."""
    url = f"sqlite:///{tmp_path / 'central.db'}"
    engine = make_engine(url)
    upgrade(engine)

    @event.listens_for(engine, "connect")
    def short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=100")

    engine.dispose()  # new connections get the short timeout
    worker = IngestWorker(BrokerSettings(port=mosquitto.port, client_id="ingest-l"), engine)
    worker.start()
    pub = Publisher(mosquitto.port)
    locker = sqlite3.connect(tmp_path / "central.db", isolation_level=None)
    try:
        assert worker.connected.wait(10)
        locker.execute("BEGIN IMMEDIATE")  # the write lock, held
        for k in range(5):
            pub.send("readings", _good(k))
        wait_for(lambda: worker.db_failures >= 2, 30, "the worker to meet the lock")
        assert worker.health().retrying_s > 0
        assert worker.totals.quarantined == 0
        locker.execute("ROLLBACK")
        wait_for(lambda: worker.totals.readings_new == 5, 30, "the readings once unlocked")
        assert worker.totals.quarantined == 0
        assert worker.health().retrying_s == 0
    finally:
        locker.close()
        pub.close()
        worker.stop()
        engine.dispose()


def test_a_dead_store_thread_fails_healthz(mosquitto: Mosquitto, engine: Engine) -> None:
    worker = IngestWorker(BrokerSettings(port=mosquitto.port, client_id="ingest-x"), engine)
    worker.start()
    api = Api(engine)
    api.app.state.ingest = worker
    try:
        assert worker.connected.wait(10)
        wait_for(lambda: api.get("/healthz").status_code == 200, 10, "healthy")
        metrics = api.get("/metrics").text
        assert "m2c_ingest_alive 1.0" in metrics
        worker._stopping.set()  # the store thread ends, as if it had died
        assert worker._thread is not None
        worker._thread.join(10)
        response = api.get("/healthz")
        assert response.status_code == 503
        assert response.json()["ingest"]["alive"] is False
        assert "m2c_ingest_alive 0.0" in api.get("/metrics").text
    finally:
        worker.stop()
