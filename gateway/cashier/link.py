"""The cashier inside the gateway daemon: bill caches pushed from central land in the local
cache, and payments taken in the field go up through the outbox, exactly once at central.

A payment is copied into the outbox's ``payments`` channel (one fsync'd transaction) before the
ledger marks it sent; a crash between the two sends it again under the same ``payment_id``,
which central stores once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError

from contract.bill_cache import BillCachePush
from contract.mqtt import Command, Event, FieldPayment
from gateway.cashier.app import CashierApp
from gateway.cashier.service import CashierError
from gateway.downlink import CommandRejected

log = structlog.get_logger(__name__)

SubmitPayments = Callable[[Sequence[FieldPayment]], Awaitable[None]]


class CashierLink:
    def __init__(
        self,
        app: CashierApp,
        *,
        submit_payments: SubmitPayments,
        interval_s: float = 1.0,
    ) -> None:
        self.app = app
        self.submit_payments = submit_payments
        self.interval_s = interval_s
        self.forwarded = 0

    async def bill_cache(self, args: dict[str, Any]) -> str:
        """The ``bill_cache`` downlink command: a route's bills for offline collection."""
        try:
            push = BillCachePush.model_validate(args)
        except ValidationError as exc:
            raise CommandRejected(f"bill_cache: {exc.errors()[0]['msg']}") from exc
        count = await asyncio.to_thread(self.app.cache.apply, push)
        return f"{count} bills cached"

    async def print_command(self, command: Command) -> str:
        """The ``print`` downlink command: the job is named after the command, so a redelivered
        command never prints twice."""
        try:
            job = await asyncio.to_thread(self.app.cashier.handle_print_command, command)
        except CashierError as exc:
            raise CommandRejected(f"{exc.code}: {exc}") from exc
        return f"print job {job} queued"

    async def forward_once(self) -> int:
        pending = await asyncio.to_thread(self.app.ledger.pending_payments, 100)
        if not pending:
            return 0
        await self.submit_payments(pending)
        await asyncio.to_thread(self.app.ledger.mark_sent, [p.payment_id for p in pending])
        self.forwarded += len(pending)
        log.info("field payments queued for central", count=len(pending))
        return len(pending)

    async def run(self, stop: asyncio.Event) -> None:
        """Forward payments until ``stop``; the print worker and local API run alongside."""
        cashier = asyncio.create_task(self.app.run(stop))
        try:
            while not stop.is_set():
                while await self.forward_once():
                    pass
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval_s)
            await self.forward_once()
        finally:
            await cashier
            self.app.close()


def to_event(gateway_id: str, item: Any) -> Event:
    """A print event or job outcome as the ``events`` payload."""
    event: Event = item.to_mqtt(gateway_id, datetime.now(UTC))
    return event
