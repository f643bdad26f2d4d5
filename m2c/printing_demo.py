"""Print a bill notice and a paid receipt through the whole gateway path to a simulated printer.

cache push → cashier → durable print queue → worker → real transport (bleak over the virtual
BLE air, or TCP 9100, or a pty) → simulated printer → PNG + text per job in ``out_dir``.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from contract.bill_cache import BillCachePush
from contract.receipt_signature import public_key_text
from drivers.escpos.profile import profile
from drivers.escpos.template import load_template
from drivers.printers.base import PrinterTransport
from gateway.cashier.cache import BillCache
from gateway.cashier.payments import PaymentLedger
from gateway.cashier.service import Cashier, PaymentResult
from gateway.printing.queue import PrintQueue
from gateway.printing.worker import PrintWorker

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PUSH = ROOT / "config" / "samples" / "bill_cache_route.json"
TEMPLATES = ROOT / "config" / "templates"
Transport = Literal["ble", "tcp", "serial"]


@dataclass(frozen=True)
class DemoResult:
    pngs: list[Path]
    payment: PaymentResult
    keyring_line: str  # the gateway's public key as a keyring entry, to verify the receipt


async def print_demo(
    out_dir: Path,
    *,
    transport: Transport = "ble",
    profile_name: str = "generic-58",
    bill_id: str = "HD-2611-0001",
    work_dir: Path | None = None,
) -> DemoResult:
    """Print the sample bill's notice and its receipt; returns the PNG paths."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from simulators.printer.machine import PrinterMachine

    work = work_dir or Path(tempfile.mkdtemp(prefix="m2c-print-demo-"))
    prof = profile(profile_name)
    machine = PrinterMachine(prof.width_dots, out_dir=out_dir)
    key = Ed25519PrivateKey.generate()
    cache = BillCache(work / "cashier.db")
    ledger = PaymentLedger(work / "cashier.db")
    queue = PrintQueue(work / "cashier.db")
    cache.apply(BillCachePush.model_validate_json(SAMPLE_PUSH.read_text(encoding="utf-8")))
    cashier = Cashier(
        gateway_id="gw-demo-01",
        cache=cache,
        ledger=ledger,
        queue=queue,
        printer="demo",
        profile=prof,
        notice_template=load_template(TEMPLATES / "notice.toml"),
        receipt_template=load_template(TEMPLATES / "receipt.toml"),
        signing_key=key,
        cashier_name="Trần Văn Bình",
        cashier_phone="0913 123 456",
        receipt_prefix="DEMO",
    )
    cashier.print_notice(bill_id)
    owed = int(str(cashier.lookup(cache.get(bill_id)[0].account)[0]["owed"]))
    payment = cashier.pay(bill_id, owed)
    printer, stop = await _start(transport, machine)
    try:
        await PrintWorker(queue, "demo", printer).drain()
        await printer.close()
    finally:
        await stop()
    machine.flush()
    cashier.close()
    for closable in (queue, cache, ledger):
        closable.close()
    line = f'"gw-demo-01" = ["{public_key_text(key.public_key())}"]'
    return DemoResult([j.png for j in machine.jobs if j.png], payment, line)


async def _start(
    transport: Transport, machine: object
) -> tuple[PrinterTransport, Callable[[], Awaitable[None]]]:
    from simulators.printer.machine import PrinterMachine

    assert isinstance(machine, PrinterMachine)
    if transport == "tcp":
        from drivers.printers.tcp import TcpPrinter
        from simulators.printer.servers import TcpPrinterServer

        server = TcpPrinterServer(machine, idle_flush_s=None)
        port = await server.start()
        return TcpPrinter("127.0.0.1", port), server.stop
    if transport == "serial":
        from drivers.printers.serial import SerialPrinter
        from simulators.printer.servers import PtyPrinter

        pty = PtyPrinter(machine, idle_flush_s=None)
        path = await pty.start()
        return SerialPrinter(path, baudrate=115200), pty.stop
    from drivers.printers.ble import BlePrinter, find_printer
    from simulators.ble.air import VirtualAir
    from simulators.ble.backend import client_backend, scanner_backend
    from simulators.printer.ble import BlePrinterSim

    air = VirtualAir()
    sim = BlePrinterSim(air, machine)
    await sim.start()
    device = await find_printer(backend=scanner_backend(air))
    return BlePrinter(device, backend=client_backend(air)), sim.stop


def run(
    out_dir: Path, transport: Transport = "ble", profile_name: str = "generic-58"
) -> DemoResult:
    return asyncio.run(print_demo(out_dir, transport=transport, profile_name=profile_name))
