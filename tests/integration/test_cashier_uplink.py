"""Cash taken in the field reaches central exactly once: the gateway daemon with its cashier,
a private broker, central's ingest on SQLite; central is down while the cashier collects."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.ingest import FieldPaymentRow
from central.identity.enrollment import enroll
from central.ingest.worker import IngestWorker
from central.settings import BrokerSettings
from contract.command_signature import public_key_text
from contract.mqtt import Command
from gateway.cashier.app import CashierApp
from gateway.cashier.config import CashierConfig, CashierFile
from gateway.cashier.keys import create_signing_key, load_signing_key
from gateway.daemon import Gateway
from gateway.printing.config import PrinterConfig
from gateway.settings import (
    DownlinkSettings,
    GatewaySettings,
    MetricsSettings,
    MqttSettings,
    OutboxSettings,
    StatusSettings,
)
from simulators.printer.machine import PrinterMachine
from simulators.printer.servers import TcpPrinterServer
from tests.support.broker import Mosquitto
from tests.support.signing import CENTRAL_PUBLIC, signed_bytes

ROOT = Path(__file__).resolve().parents[2]


async def _until(predicate, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Until ``predicate()``; ``seconds`` is the idle-machine figure, the bound at least 60 s."""
    async with asyncio.timeout(max(seconds, 60.0)):
        # central's worker and the uplink are threads with no event to await: look 10 times/s
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.1)


def test_a_field_payment_reaches_central_once(tmp_path: Path, mosquitto: Mosquitto) -> None:
    create_signing_key(tmp_path / "key.pem")
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    upgrade(engine)

    def stored() -> list[tuple[str, int]]:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(select(FieldPaymentRow.payment_id, FieldPaymentRow.amount))
            ]

    settings = BrokerSettings(port=mosquitto.port, client_id="central-t")
    first = IngestWorker(settings, engine)  # central has run before: the broker keeps its session
    first.start()
    assert first.connected.wait(60)
    first.stop()

    async def run() -> None:
        printer = TcpPrinterServer(PrinterMachine(384, out_dir=tmp_path / "png"), idle_flush_s=None)
        port = await printer.start()
        gw = tmp_path / "gw"
        gateway = Gateway(
            GatewaySettings(
                gateway_id="gw-cash",
                mqtt=MqttSettings(port=mosquitto.port),
                outbox=OutboxSettings(path=gw / "outbox.db"),
                metrics=MetricsSettings(enabled=False),
                status=StatusSettings(path=gw / "status.json"),
                downlink=DownlinkSettings(
                    pushed_config=gw / "pushed.json", central_keys=(CENTRAL_PUBLIC,)
                ),
            )
        )
        app = CashierApp.build(
            CashierFile(
                cashier=CashierConfig(
                    gateway_id="gw-cash",
                    data_dir=gw / "cashier",
                    signing_key=tmp_path / "key.pem",
                    cashier_name="Lê Thị Thu",
                    listen_port=0,
                ),
                printer=PrinterConfig(transport="tcp", address="127.0.0.1", port=port),
            )
        )
        link = gateway.attach_cashier(app)
        enroll(  # central knows the gateway's receipt key: its payments are money
            engine,
            "gw-cash",
            public_key_text(load_signing_key(tmp_path / "key.pem").public_key()),
            password_file=tmp_path / "gateways.passwd",
            now=datetime.now(UTC),
        )
        task = asyncio.create_task(gateway.run())
        push = json.loads((ROOT / "config/samples/bill_cache_route.json").read_text("utf-8"))
        reply = await gateway.downlink.handle(
            signed_bytes(Command(id="c-1", kind="bill_cache", args=push), "gw-cash")
        )
        assert reply.ok, reply.reason
        printing = Command(id="c-2", kind="print", args={"bill_id": "HD-2611-0002"})
        printing_bytes = signed_bytes(printing, "gw-cash")
        first = await gateway.downlink.handle(printing_bytes)
        assert first.ok, first.reason
        bad = Command(id="c-3", kind="print", args={"bill_id": "HD-0000-NOPE"})
        refused = await gateway.downlink.handle(signed_bytes(bad, "gw-cash"))
        assert not refused.ok
        assert "unknown_bill" in refused.reason
        again = await gateway.downlink.handle(printing_bytes)
        assert not again.ok  # a redelivered command is refused as replayed, not run twice
        assert "already received" in again.reason
        assert [j.id for j in app.queue.jobs() if j.ref == "HD-2611-0002"] == ["cmd-c-2"]
        owed = int(str(app.cashier.lookup(app.cache.get("HD-2611-0001")[0].account)[0]["owed"]))
        payment = app.cashier.pay("HD-2611-0001", owed)  # central is not running
        await _until(lambda: link.forwarded == 1, 10, "the payment in the outbox")
        await _until(lambda: gateway.outbox.stats().depth == 0, 10, "the broker's PUBACK")
        assert stored() == []

        worker = IngestWorker(settings, engine)
        worker.start()  # central comes back: the broker hands over what it kept
        try:
            await _until(lambda: len(stored()) == 1, 15, "the payment at central")
            # The same payment again (as after a crash before the ledger marked it sent).
            recorded = app.ledger.get(payment.payment_id)
            assert recorded is not None
            assert app.ledger.pending_payments() == []  # marked sent after the outbox took it
            seen = worker.totals.messages
            await gateway.submit_payments([recorded[0]])
            await _until(lambda: gateway.outbox.stats().depth == 0, 10, "the resend's PUBACK")
            # central has handled the resend (stored nothing new) before the count is checked
            await _until(lambda: worker.totals.messages > seen, 15, "the resend at central")
        finally:
            worker.stop()
            gateway.stop()
            await task
            await printer.stop()
        assert stored() == [(payment.payment_id, owed)]

    asyncio.run(run())
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(FieldPaymentRow)) == 1
    engine.dispose()
