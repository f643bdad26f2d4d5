"""The offline field-cashier flow end to end: cache → notice → payment → signed receipt."""

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from contract.bill_cache import BillCachePush
from contract.mqtt import FieldPaymentBatch
from contract.receipt_signature import verify_receipt
from drivers.escpos.encode import qr_bitmap
from drivers.escpos.layout import layout
from drivers.escpos.profile import profile
from drivers.escpos.template import load_template
from drivers.printers.tcp import TcpPrinter
from gateway.cashier.cache import BillCache
from gateway.cashier.config import CashierConfig
from gateway.cashier.http import CashierServer
from gateway.cashier.payments import PaymentLedger
from gateway.cashier.service import Cashier, CashierError, to_notice
from gateway.printing.queue import JobState, PrintQueue
from gateway.printing.worker import PrintWorker
from simulators.printer.machine import PrinterMachine
from simulators.printer.servers import TcpPrinterServer
from tests.support.printout import assert_printout_shows, expected_output

ROOT = Path(__file__).parents[3]
PUSH = BillCachePush.model_validate_json(
    (ROOT / "config" / "samples" / "bill_cache_route.json").read_text(encoding="utf-8")
)
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
NOTICE_T = load_template(ROOT / "config" / "templates" / "notice.toml")
RECEIPT_T = load_template(ROOT / "config" / "templates" / "receipt.toml")
PROFILE = profile("generic-58")


@dataclass
class Kit:
    cashier: Cashier
    cache: BillCache
    ledger: PaymentLedger
    queue: PrintQueue


def _kit(tmp_path: Path) -> Kit:
    cache = BillCache(tmp_path / "cashier.db")
    ledger = PaymentLedger(tmp_path / "cashier.db")
    queue = PrintQueue(tmp_path / "cashier.db")
    cashier = Cashier(
        gateway_id="gw-camau-01",
        cache=cache,
        ledger=ledger,
        queue=queue,
        printer="field",
        profile=PROFILE,
        notice_template=NOTICE_T,
        receipt_template=RECEIPT_T,
        signing_key=KEY,
        cashier_name="Trần Văn Bình",
        cashier_phone="0913 123 456",
        receipt_prefix="BN01",
        clock=lambda: NOW,
    )
    return Kit(cashier, cache, ledger, queue)


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    k = _kit(tmp_path)
    k.cache.apply(PUSH)
    yield k
    k.cashier.close()
    k.queue.close()
    k.cache.close()
    k.ledger.close()


def _print_all(queue: PrintQueue, out: Path) -> PrinterMachine:
    async def run() -> PrinterMachine:
        machine = PrinterMachine(384, out_dir=out)
        server = TcpPrinterServer(machine, idle_flush_s=None)
        port = await server.start()
        printer = TcpPrinter("127.0.0.1", port)
        await PrintWorker(queue, "field", printer).drain()
        await printer.close()
        await server.stop()
        machine.flush()
        return machine

    return asyncio.run(run())


def test_offline_notice_payment_and_signed_receipt(kit: Kit, tmp_path: Path) -> None:
    [bill] = kit.cashier.lookup("PB14010012345")
    assert bill["owed"] == 387482
    notice_job = kit.cashier.print_notice("HD-2611-0001")
    result = kit.cashier.pay("HD-2611-0001", 387482)
    assert result.receipt_no == "BN01-000001"
    assert result.payment_id == "gw-camau-01-BN01-000001"
    machine = _print_all(kit.queue, tmp_path / "png")
    assert kit.queue.get(notice_job).state is JobState.PRINTED
    assert kit.queue.get(result.job_id).state is JobState.PRINTED

    cached, _, utility, payee = kit.cache.get("HD-2611-0001")
    notice = to_notice(
        cached, utility, payee, cashier_name="Trần Văn Bình", cashier_phone="0913 123 456"
    )
    notice_job_png, receipt_job_png = machine.jobs
    assert_printout_shows(
        notice_job_png, expected_output(layout(notice, NOTICE_T), PROFILE, NOTICE_T.sizes)
    )
    # the receipt's QR on paper is the signed text, and it verifies
    fields = verify_receipt(result.verification, {"gw-camau-01": (KEY.public_key(),)})
    assert fields.amount == 387482
    assert fields.receipt_no == "BN01-000001"
    qr = qr_bitmap(result.verification, PROFILE.qr_module_dots)
    assert any(r.bitmap.data == qr.data for r in receipt_job_png.rasters)
    assert kit.cashier.lookup("PB14010012345")[0]["owed"] == 0


def test_payments_flow_up_exactly_once(kit: Kit, tmp_path: Path) -> None:
    a = kit.cashier.pay("HD-2611-0001", 387482)
    b = kit.cashier.pay("HD-2611-0002", 50000)  # part payment
    pending = kit.ledger.pending_payments()
    assert [p.payment_id for p in pending] == [a.payment_id, b.payment_id]
    assert pending[1].amount == 50000
    assert pending[1].signature
    batch = kit.ledger.next_batch("gw-camau-01")
    assert isinstance(batch, FieldPaymentBatch)
    assert batch.seq == 1
    assert FieldPaymentBatch.model_validate_json(batch.model_dump_json()) == batch
    # the uplink crashes before PUBACK: the same payments come again
    kit.ledger.close()
    again = PaymentLedger(tmp_path / "cashier.db")
    assert [p.payment_id for p in again.pending_payments()] == [a.payment_id, b.payment_id]
    assert again.mark_sent([a.payment_id, b.payment_id]) == 2
    assert again.mark_sent([a.payment_id]) == 0
    assert again.pending_payments() == []
    assert again.next_batch("gw-camau-01") is None
    again.close()


def test_refusals_and_idempotent_retry(kit: Kit) -> None:
    first = kit.cashier.pay("HD-2611-0002", 89994, request_id="kiosk-7-0001")
    retry = kit.cashier.pay("HD-2611-0002", 89994, request_id="kiosk-7-0001")
    assert retry.repeated
    assert retry.receipt_no == first.receipt_no
    assert len(kit.ledger.pending_payments()) == 1
    with pytest.raises(CashierError) as paid:
        kit.cashier.pay("HD-2611-0002", 1)
    assert paid.value.code == "already_paid"
    with pytest.raises(CashierError) as unknown:
        kit.cashier.pay("HD-nope", 1)
    assert unknown.value.code == "unknown_bill"
    with pytest.raises(CashierError) as too_much:
        kit.cashier.pay("HD-2611-0001", 387483)
    assert too_much.value.code == "bad_amount"


def test_a_later_push_does_not_reopen_a_bill_paid_here(kit: Kit) -> None:
    kit.cashier.pay("HD-2611-0001", 387482)
    kit.cache.apply(PUSH)  # central has not seen the payment yet
    assert kit.cashier.lookup("PB14010012345")[0]["owed"] == 0
    smaller = PUSH.model_copy(update={"bills": PUSH.bills[:1]})
    kit.cache.apply(smaller)  # replace: unpaid bills missing from the push go
    assert kit.cashier.lookup("PB14010012346") == []
    assert kit.cashier.lookup("PB14010012345") != []


def test_reprint_is_a_copy(kit: Kit, tmp_path: Path) -> None:
    result = kit.cashier.pay("HD-2611-0001", 387482)
    _print_all(kit.queue, tmp_path / "a")
    kit.cashier.reprint_receipt(result.receipt_no)
    machine = _print_all(kit.queue, tmp_path / "b")
    assert machine.jobs[0].rasters[0].bitmap.height > 10  # the large "BẢN SAO / COPY" line
    assert kit.queue.get(result.job_id).as_copy


def _call(
    port: int, method: str, path: str, body: object = None, token: str = ""
) -> tuple[int, dict[str, object]]:
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_http_api(kit: Kit) -> None:
    token = "k" * 24
    server = CashierServer(kit.cashier, host="127.0.0.1", port=0, token=token)
    server.start()
    try:
        port = server.port
        assert _call(port, "GET", "/health")[0] == 401
        status, body = _call(port, "GET", "/bills?account=PB14010012347", token=token)
        assert status == 200
        assert body["bills"][0]["customer"] == "陈美玲 (Trần Mỹ Linh)"
        status, body = _call(port, "POST", "/bills/HD-2611-0003/notice", token=token)
        assert status == 202
        status, body = _call(
            port,
            "POST",
            "/bills/HD-2611-0003/payments",
            {"amount": 572011, "request_id": "r1"},
            token=token,
        )
        assert status == 201
        assert body["receipt_no"] == "BN01-000001"
        status, again = _call(
            port,
            "POST",
            "/bills/HD-2611-0003/payments",
            {"amount": 572011, "request_id": "r1"},
            token=token,
        )
        assert status == 200
        assert again["repeated"] is True
        assert (
            _call(port, "POST", "/bills/HD-2611-0003/payments", {"amount": 1}, token=token)[0]
            == 409
        )
        assert (
            _call(port, "POST", "/bills/HD-2611-0003/payments", {"amount": "1"}, token=token)[0]
            == 400
        )
        assert _call(port, "POST", "/bills/HD-2611-0003/payments", b"{nope", token=token)[0] == 400
        assert _call(port, "POST", "/bills/nope/notice", token=token)[0] == 404
        status, job = _call(port, "GET", f"/jobs/{body['job_id']}", token=token)
        assert status == 200
        assert job["state"] == "queued"
        assert _call(port, "GET", "/jobs/none", token=token)[0] == 404
    finally:
        server.stop()


def test_config_refuses_an_open_api_without_token(tmp_path: Path) -> None:
    base = {
        "gateway_id": "gw-1",
        "data_dir": tmp_path,
        "signing_key": tmp_path / "k.pem",
        "cashier_name": "A",
    }
    assert CashierConfig(**base).listen_host == "127.0.0.1"
    with pytest.raises(ValidationError, match="needs a token"):
        CashierConfig(**base, listen_host="0.0.0.0")
    with pytest.raises(ValidationError, match="placeholder"):
        CashierConfig(**base, listen_host="0.0.0.0", token="changeme")


def test_print_command_from_central_prints_once(kit: Kit) -> None:
    from contract.mqtt import Command

    command = Command(id="c-42", kind="print", args={"bill_id": "HD-2611-0002"})
    assert kit.cashier.handle_print_command(command) == "cmd-c-42"
    assert kit.cashier.handle_print_command(command) == "cmd-c-42"  # redelivered
    assert [j.id for j in kit.queue.jobs()] == ["cmd-c-42"]
    with pytest.raises(CashierError) as bad:
        kit.cashier.handle_print_command(Command(id="c-43", kind="print", args={"x": 1}))
    assert bad.value.code == "bad_command"
    with pytest.raises(CashierError) as unknown:
        kit.cashier.handle_print_command(
            Command(id="c-44", kind="print", args={"bill_id": "HD-none"})
        )
    assert unknown.value.code == "unknown_bill"
