"""Cached bills print whatever letters their fields hold; bank fields are folded to ASCII."""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.bill_cache import BillCachePush
from drivers.printers.tcp import TcpPrinter
from drivers.vietqr import ascii_fold, parse
from gateway.cashier.service import Cashier
from gateway.printing.queue import JobState
from gateway.printing.worker import PrintWorker
from simulators.printer.machine import PrinterMachine
from simulators.printer.servers import TcpPrinterServer
from tests.support.cashier_kit import ROOT, make_cashier

SAMPLE = json.loads((ROOT / "config" / "samples" / "bill_cache_route.json").read_text("utf-8"))


def _push(**first_bill: object) -> BillCachePush:
    raw = json.loads(json.dumps(SAMPLE))
    raw["bills"][0].update(first_bill)
    return BillCachePush.model_validate(raw)


@pytest.fixture
def cashier(tmp_path: Path) -> Iterator[Cashier]:
    c = make_cashier(tmp_path, profile_name="qr-58")  # QR codes read back as text
    yield c
    c.close()
    for store in (c.cache, c.ledger, c.queue):
        store.close()


def _print_all(cashier: Cashier, out: Path) -> PrinterMachine:
    async def run() -> PrinterMachine:
        machine = PrinterMachine(384, out_dir=out)
        server = TcpPrinterServer(machine, idle_flush_s=None)
        port = await server.start()
        printer = TcpPrinter("127.0.0.1", port)
        await PrintWorker(cashier.queue, "field", printer).drain()
        await printer.close()
        await server.stop()
        machine.flush()
        return machine

    return asyncio.run(run())


def test_ascii_fold_keeps_what_it_can() -> None:
    assert ascii_fold("HĐ-2611-0009") == "HD-2611-0009"
    assert ascii_fold("Thanh toán tiền điện đợt 1") == "Thanh toan tien dien dot 1"
    assert ascii_fold("陈美玲 nợ") == " no"  # no ASCII letter for Chinese: dropped
    assert ascii_fold("tab\there") == "tabhere"


def test_a_bill_number_with_vietnamese_letters_prints_its_notice(
    cashier: Cashier, tmp_path: Path
) -> None:
    cashier.cache.apply(_push(bill_id="HĐ-2611-0009"))
    job = cashier.print_notice("HĐ-2611-0009")
    result = cashier.pay("HĐ-2611-0009", 387482)
    machine = _print_all(cashier, tmp_path / "png")
    assert cashier.queue.get(job).state is JobState.PRINTED
    assert cashier.queue.get(result.job_id).state is JobState.PRINTED
    [notice_qr] = machine.jobs[0].qr_codes
    qr = parse(notice_qr)
    assert qr.bill_number == "HD-2611-0009"
    assert qr.amount == 387482
