"""Two ingest workers on one shared subscription, a real Mosquitto, SQLite or PostgreSQL:
every reading stored once, redeliveries and duplicates included; both workers take a share;
a malformed message is quarantined while the rest goes on."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.ingest import QuarantineRow, SeqGap
from central.db.models.readings import ReadingRow
from central.ingest.worker import IngestWorker
from central.settings import BrokerSettings
from contract import mqtt as contract
from tests.support.broker import Mosquitto
from tests.support.mqtt import wait_for
from tests.support.readings import reading


def test_two_workers_share_the_load_without_duplicate_rows(
    tmp_path: Path, mosquitto: Mosquitto, db_url: str
) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    workers = [
        IngestWorker(
            BrokerSettings(port=mosquitto.port, share_group="ingest", client_id=f"ingest-{i}"),
            engine,
            max_messages=20,
        )
        for i in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        assert w.connected.wait(60)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pub", protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    rng = random.Random(7)
    sent: list[contract.ReadingsBatch] = []
    for seq in range(300):
        batch = contract.ReadingsBatch(
            gateway_id="gw-w",
            seq=seq,
            sent_at=datetime.now(UTC),
            readings=tuple(reading(seq * 20 + k, meter=f"m-{k % 3}") for k in range(20)),
        )
        sent.append(batch)
    infos = []
    for batch in sent + rng.sample(sent, 60):  # 60 redeliveries, in any order
        topic = contract.topic("gw-w", "readings")
        infos.append(pub.publish(topic, batch.model_dump_json().encode(), qos=1))
    infos.append(pub.publish(contract.topic("gw-w", "readings"), b"\xff\xfe garbage", qos=1))
    for info in infos:
        info.wait_for_publish(10)
        assert info.is_published()
    pub.disconnect()
    pub.loop_stop()

    def stored() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(ReadingRow)) or 0)

    wait_for(lambda: sum(w.totals.messages for w in workers) >= 361, 30, "all messages")
    for w in workers:
        w.stop()
    with engine.connect() as conn:
        identities = conn.execute(
            select(func.count(), func.count(func.distinct(ReadingRow.ts)))
        ).one()
        quarantined = conn.scalar(select(func.count()).select_from(QuarantineRow))
        gaps = conn.scalar(select(func.count()).select_from(SeqGap))
    engine.dispose()
    shares = [w.totals.messages for w in workers]
    print(f"\nshared subscription: messages per worker {shares}, rows {identities[0]}")
    assert identities == (6000, 6000)
    assert sum(w.totals.readings_new for w in workers) == 6000
    assert sum(w.totals.duplicates for w in workers) == 60 * 20
    assert quarantined == 1
    assert gaps == 0  # out-of-order arrival between workers filled every transient gap
    assert all(n > 30 for n in shares), shares
