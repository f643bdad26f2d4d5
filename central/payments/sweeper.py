"""The payments' scheduled work in one thread: field cash onto the ledger, querydr for VNPay
orders whose IPN never came, expired idempotency keys purged. One failing pass is logged and
the next one runs; nothing here can stop the API."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine

from central.payments import field, idempotency, vnpay_api
from central.settings import PaymentsSettings

log = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class Sweeper:
    def __init__(
        self,
        engine: Engine,
        settings: PaymentsSettings,
        *,
        clock: Callable[[], datetime] = _now,
        post: vnpay_api.Post = vnpay_api.httpx_post,
    ) -> None:
        self.engine, self.settings, self.clock, self.post = engine, settings, clock, post
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="payments-sweeper", daemon=True)
        self.passes = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def run_once(self) -> None:
        field.sweep(self.engine, clock=self.clock)
        vn = self.settings.vnpay
        if vn.tmn_code and vn.hash_secret.get_secret_value():
            vnpay_api.query_pending(self.engine, vn, clock=self.clock, post=self.post)
        with idempotency.writer(self.engine) as session:
            idempotency.purge(session, now=self.clock())
            session.commit()
        self.passes += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a bad pass is logged; the next one runs
                log.exception("payments.sweep_failed")
            self._stop.wait(self.settings.sweep_seconds)
