"""Wiring for the gateway daemon: config → stores, cashier, print worker, HTTP API.

app = CashierApp.build(file)             # CashierFile from m2c.configfile.load
await app.run(stop)                      # print worker + HTTP API until stop is set
app.cache.apply(BillCachePush(...))      # the downlink's bill_cache handler
app.ledger.pending_payments() / mark_sent(ids) / next_batch(gw)   # the uplink
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.cashier.cache import BillCache
from gateway.cashier.config import CashierFile
from gateway.cashier.http import CashierServer
from gateway.cashier.keys import load_signing_key
from gateway.cashier.payments import PaymentLedger
from gateway.cashier.service import Cashier
from gateway.printing.config import build_transport
from gateway.printing.queue import PrintQueue
from gateway.printing.worker import JobOutcome, PrintEvent, PrintWorker


def _ignore(_: object) -> None:
    return None


@dataclass
class CashierApp:
    config: CashierFile
    cache: BillCache
    ledger: PaymentLedger
    queue: PrintQueue
    cashier: Cashier
    worker: PrintWorker
    server: CashierServer | None = field(default=None)

    @classmethod
    def build(
        cls,
        config: CashierFile,
        *,
        ble_backend: Any = None,
        on_event: Callable[[PrintEvent], None] = _ignore,
        on_outcome: Callable[[JobOutcome], None] = _ignore,
    ) -> CashierApp:
        c, p = config.cashier, config.printer
        cache = BillCache(c.data_dir / "cashier.db")
        ledger = PaymentLedger(c.data_dir / "cashier.db")
        queue = PrintQueue(c.data_dir / "cashier.db")
        notice_t, receipt_t = p.templates()
        worker = PrintWorker(
            queue,
            p.name,
            build_transport(p, ble_backend=ble_backend),
            on_event=on_event,
            on_outcome=on_outcome,
        )
        cashier = Cashier(
            gateway_id=c.gateway_id,
            cache=cache,
            ledger=ledger,
            queue=queue,
            printer=p.name,
            profile=p.printer_profile(),
            notice_template=notice_t,
            receipt_template=receipt_t,
            signing_key=load_signing_key(c.signing_key),
            cashier_name=c.cashier_name,
            cashier_phone=c.cashier_phone,
            receipt_prefix=c.receipt_prefix,
            verify_url=c.verify_url,
        )
        return cls(config, cache, ledger, queue, cashier, worker)

    async def run(self, stop: asyncio.Event, *, http: bool = True) -> None:
        loop = asyncio.get_running_loop()

        def wake() -> None:  # the API threads submit jobs; the worker lives on this loop
            loop.call_soon_threadsafe(self.worker.wake)

        self.cashier.on_submit = wake
        c = self.config.cashier
        if http:
            self.server = CashierServer(
                self.cashier, host=c.listen_host, port=c.listen_port, token=c.token
            )
            self.server.start()
        try:
            await self.worker.run(stop)
        finally:
            if self.server is not None:
                self.server.stop()
            await self.worker.transport.close()

    def close(self) -> None:
        self.cashier.close()
        for store in (self.queue, self.cache, self.ledger):
            store.close()
