"""The notifier thread: queues bill notices for chat registrations and delivers the outbox."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from central.channels import notices
from central.channels.delivery import deliver_due
from central.channels.senders import Sender
from central.channels.service import Channel

log = structlog.get_logger("central.channels")


def _now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Every ``interval`` seconds, or at once when woken: sweep notices, send what is due."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channels: list[Channel],
        senders: Mapping[str, Sender],
        *,
        interval: float = 5.0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._senders = senders
        self._interval = interval
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chat-notifier", daemon=True)
        self.rounds = 0
        self.sent = 0

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(30)

    def run_once(self) -> int:
        """One round; returns how many messages were sent."""
        for channel in self._channels:
            with self._sessions() as session:
                queued = notices.sweep_bill_notices(session, channel, clock=self._clock)
                session.commit()
            if queued:
                log.info("bill_notices_queued", platform=channel.platform, count=queued)
        sent, _failed = deliver_due(self._sessions, self._senders, clock=self._clock)
        self.sent += sent
        self.rounds += 1
        return sent

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_once()
            except Exception:  # a database outage must not end the thread
                log.exception("notifier_round_failed")
            self._wake.wait(self._interval)
