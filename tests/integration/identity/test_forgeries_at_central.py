"""What an enrolled gateway's own credentials still cannot do, over the shipped broker to a
running ingest worker: a forged field payment is quarantined and raised, never money; a retained
status dated 9999 does not pin the gateway offline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.db.models.ingest import FieldPaymentRow, GatewayEventRow, GatewayRow, QuarantineRow
from central.ingest.worker import IngestWorker
from contract import mqtt as contract
from contract.receipt_signature import ReceiptFields, sign_receipt, signature_of
from tests.integration.identity.conftest import Site, until
from tests.support.mqtt import wait_for
from tests.support.secure_broker import Client


@pytest.fixture
def worker(site: Site) -> Iterator[IngestWorker]:
    w = IngestWorker(site.broker.central_broker(), site.engine)
    w.start()
    try:
        assert w.connected.wait(10)
        yield w
    finally:
        w.stop()


@pytest.fixture
def gw_a(site: Site, worker: IngestWorker) -> Iterator[Client]:
    c = Client(
        site.broker.port,
        site.broker.pki.ca,
        client_id="x",
        username="gw-a",
        password=site.a.password,
    )
    try:
        assert c.wait_connected()

        def probe() -> None:
            event = contract.Event(gateway_id="gw-a", kind="probe", ts=datetime.now(UTC))
            c.publish(contract.topic("gw-a", "events"), event.model_dump_json().encode())

        until(lambda: _count(site, GatewayEventRow) > 0, probe, "central's subscription in place")
        yield c
    finally:
        c.close()


def _count(site: Site, table: type) -> int:
    with Session(site.engine) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_forged_field_payment_is_quarantined_and_raised(
    site: Site, worker: IngestWorker, gw_a: Client
) -> None:
    now = datetime.now(UTC)
    forged = contract.FieldPayment(
        payment_id="FP-forged",
        account="01234567890",
        amount=5_000_000,
        receipt_no="R-666",
        cashier="nobody",
        ts=now,
        signature="not-a-signature",
    )
    fields = ReceiptFields("gw-a", "R-1", "01234567890", "", 120_000, "cash", now, "Lan")
    real = contract.FieldPayment(
        payment_id="FP-real",
        account="01234567890",
        amount=120_000,
        receipt_no="R-1",
        cashier="Lan",
        ts=now,
        signature=signature_of(sign_receipt(fields, site.a.receipt_key)),
    )
    topic = contract.topic("gw-a", "payments")
    for seq, p in enumerate((forged, real)):
        batch = contract.FieldPaymentBatch(gateway_id="gw-a", seq=seq, payments=(p,))
        assert gw_a.publish(topic, batch.model_dump_json().encode()) == 0
    wait_for(lambda: _count(site, FieldPaymentRow) == 1, 15, "the real payment stored")
    wait_for(lambda: _count(site, QuarantineRow) == 1, 15, "the forged one quarantined")
    with Session(site.engine) as s:
        assert [p.payment_id for p in s.scalars(select(FieldPaymentRow))] == ["FP-real"]
        (q,) = s.scalars(select(QuarantineRow))
        assert "FP-forged" in q.reason
        assert "bad signature" in q.reason
        (alert,) = s.scalars(
            select(GatewayEventRow).where(GatewayEventRow.kind == "receipt_refused")
        )
        assert (alert.subject, alert.severity) == ("FP-forged", "error")
    assert worker.totals.payments_refused == 1


def test_retained_status_from_the_future_does_not_pin_the_gateway(
    site: Site, worker: IngestWorker, gw_a: Client
) -> None:
    topic = contract.topic("gw-a", "status")
    # Year 9999 is outside the contract's window; next year is inside it, but ahead of
    # central's clock: both are quarantined, neither pins the gateway offline.
    pinned = b'{"v":1,"gateway_id":"gw-a","state":"offline","ts":"9999-12-31T00:00:00Z"}'
    assert gw_a.publish(topic, pinned, retain=True) == 0
    wait_for(lambda: _count(site, QuarantineRow) == 1, 15, "the 9999 status quarantined")
    ahead = contract.GatewayStatus(
        gateway_id="gw-a", state="offline", ts=datetime.now(UTC) + timedelta(days=365)
    )
    assert gw_a.publish(topic, ahead.model_dump_json().encode(), retain=True) == 0
    wait_for(lambda: _count(site, QuarantineRow) == 2, 15, "next year's status quarantined")
    online = contract.GatewayStatus(gateway_id="gw-a", state="online", ts=datetime.now(UTC))
    assert gw_a.publish(topic, online.model_dump_json().encode(), retain=True) == 0

    def state() -> str | None:
        with Session(site.engine) as s:
            gw = s.get(GatewayRow, "gw-a")
            return gw.state if gw else None

    wait_for(lambda: state() == "online", 15, "the gateway online at central")
