"""Central → gateway → central, every part real: a command posted to central's REST API reaches
the gateway through the broker, is carried out, and its reply is stored by ingest; field
payments from the gateway's cashier reach central exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.ingest import FieldPaymentRow
from central.identity.enrollment import enroll
from central.ingest.commands import CommandPublisher
from central.ingest.worker import IngestWorker
from central.settings import BrokerSettings
from contract import mqtt as contract
from contract.command_signature import public_key_text
from contract.receipt_signature import ReceiptFields, sign_receipt, signature_of
from gateway.daemon import Gateway
from gateway.settings import (
    DownlinkSettings,
    GatewaySettings,
    MetricsSettings,
    MqttSettings,
    OutboxSettings,
    StatusSettings,
)
from tests.support.api import Api
from tests.support.broker import Mosquitto
from tests.support.mqtt import wait_for
from tests.support.procs import LoopThread
from tests.support.signing import CENTRAL_KEY, CENTRAL_PUBLIC


def test_commands_and_payments_round_trip(
    tmp_path: Path, mosquitto: Mosquitto, db_url: str
) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    broker = BrokerSettings(port=mosquitto.port, client_id="loop-central")
    worker = IngestWorker(broker, engine)
    worker.start()
    assert worker.connected.wait(60)
    api = Api(engine)
    publisher = CommandPublisher(broker, signing_key=CENTRAL_KEY)
    receipt_key = Ed25519PrivateKey.generate()
    enroll(
        engine,
        "gw-loop",
        public_key_text(receipt_key.public_key()),
        password_file=tmp_path / "gateways.passwd",
        now=datetime.now(UTC),
    )
    publisher.start()
    api.app.state.commands = publisher
    settings = GatewaySettings(
        gateway_id="gw-loop",
        mqtt=MqttSettings(port=mosquitto.port),
        outbox=OutboxSettings(path=tmp_path / "outbox.db"),
        metrics=MetricsSettings(enabled=False),
        status=StatusSettings(path=tmp_path / "status.json"),
        downlink=DownlinkSettings(
            pushed_config=tmp_path / "pushed.json", central_keys=(CENTRAL_PUBLIC,)
        ),
    )
    gateway = Gateway(settings)
    loop = LoopThread()
    loop.spawn(gateway.run)
    try:
        wait_for(lambda: gateway.uplink.connected, 10, "gateway connected")
        wait_for(lambda: publisher.connected.is_set(), 10, "publisher connected")
        sent = api.post(
            "/api/v1/gateways/gw-loop/commands",
            json={
                "kind": "config",
                "args": {
                    "settings": {"synthetic": [{"id": "syn-l", "count": 3, "period_s": 0.01}]}
                },
            },
        )
        assert sent.status_code == 202, sent.text
        command_id = sent.json()["command_id"]
        bad = api.post("/api/v1/gateways/gw-loop/commands", json={"kind": "reboot"})
        assert bad.status_code == 422
        assert "kind" in bad.json()["detail"]
        assert (
            api.post("/api/v1/gateways/a b/commands", json={"kind": "read_now"}).status_code == 422
        )

        def reply() -> list[dict[str, object]]:
            rsp = api.get("/api/v1/gateways/gw-loop/replies")
            return rsp.json() if rsp.status_code == 200 else []

        replies = wait_for(reply, 15, "the reply stored at central")
        assert replies == [
            {
                "command_id": command_id,
                "ok": True,
                "reason": "configuration applied",
                "ts": replies[0]["ts"],
            }
        ]
        wait_for(
            lambda: (
                len(api.get("/api/v1/meters/syn-l/readings").json()) == 6
                if api.get("/api/v1/meters/syn-l/readings").status_code == 200
                else False
            ),
            15,
            "the pushed meter's readings at central",
        )

        paid_at = datetime.now(UTC)
        receipt = ReceiptFields(
            "gw-loop", "R-9", "01234567890", "", 250_000, "cash", paid_at, "Lan"
        )
        payment = contract.FieldPayment(
            payment_id="FP-1",
            account="01234567890",
            amount=250_000,
            receipt_no="R-9",
            cashier="Lan",
            ts=paid_at,
            signature=signature_of(sign_receipt(receipt, receipt_key)),
        )
        asyncio.run_coroutine_threadsafe(
            gateway.submit_payments([payment, payment]), loop.loop
        ).result(10)

        def payments() -> int:
            with engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(FieldPaymentRow)) or 0)

        wait_for(lambda: gateway.outbox.stats().depth == 0, 10, "payments sent")
        wait_for(payments, 10, "the payment at central")
        assert payments() == 1
        with engine.connect() as conn:
            row = conn.execute(select(FieldPaymentRow)).one()
        assert (row.amount, row.gateway_id, row.cashier) == (250_000, "gw-loop", "Lan")
    finally:
        loop.loop.call_soon_threadsafe(gateway.stop)
        asyncio.run(asyncio.sleep(1.0))
        loop.close()
        publisher.stop()
        worker.stop()
        engine.dispose()
