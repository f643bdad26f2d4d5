"""The notifier thread: sweeps notices into the outbox and delivers what is due."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from central.notify.delivery import deliver_due
from central.notify.senders import Sender
from central.notify.sweeps import (
    sweep_bill_notices,
    sweep_outage_notices,
    sweep_payment_notices,
)

log = structlog.get_logger("central.notify")


def _now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Every ``interval`` seconds, or at once when woken: sweep notices, send what is due.

    ``chat_locales`` maps each configured chat platform to its locale; ``senders`` maps a
    channel (zalo, wechat, email, sms) to what delivers it. Messages for a channel without a
    sender stay queued.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: Mapping[str, Sender],
        *,
        chat_locales: Mapping[str, str] | None = None,
        interval: float = 5.0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._sessions = sessions
        self._senders = senders
        self._chat_locales = dict(chat_locales or {})
        self._interval = interval
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self.rounds = 0
        self.sent = 0
        self.last_error = ""

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(30)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def run_once(self) -> int:
        """One round; returns how many messages were sent."""
        with self._sessions() as session:
            queued = sweep_bill_notices(session, clock=self._clock, chat_locales=self._chat_locales)
            queued += sweep_outage_notices(
                session, clock=self._clock, chat_locales=self._chat_locales
            )
            queued += sweep_payment_notices(
                session, clock=self._clock, chat_locales=self._chat_locales
            )
            session.commit()
        if queued:
            log.info("notices_queued", count=queued)
        sent, _failed = deliver_due(self._sessions, self._senders, clock=self._clock)
        self.sent += sent
        self.rounds += 1
        return sent

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_once()
                self.last_error = ""
            except Exception as exc:  # a database outage must not end the thread
                self.last_error = str(exc)[:300]
                log.exception("notifier_round_failed")
            self._wake.wait(self._interval)
