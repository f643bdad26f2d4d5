"""A local SMTP server (aiosmtpd) that keeps every message it accepts in a Maildir.

``refuse`` lists recipients answered with 550 (a mailbox that does not exist).
"""

from __future__ import annotations

import mailbox
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(
        self, box: mailbox.Maildir, refuse: set[str], arrived: threading.Condition
    ) -> None:
        self.box, self.refuse, self.arrived = box, refuse, arrived

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.arrived:
            self.box.add(envelope.content)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class Mailbox:
    """``with Mailbox(path) as mail:`` serves SMTP on ``mail.port`` until the block ends."""

    def __init__(
        self, path: Path, *, host: str = "127.0.0.1", port: int = 0, refuse: set[str] | None = None
    ) -> None:
        self.path = path
        self._box = mailbox.Maildir(path, create=True)
        self._arrived = threading.Condition()
        self._handler = _Handler(self._box, {r.lower() for r in refuse or set()}, self._arrived)
        self.host, self.port = host, port or _free_port(host)
        self._controller: Controller | None = None

    def start(self) -> Mailbox:
        """Serve (again, after :meth:`stop`: a server that comes back on the same port)."""
        self._controller = Controller(self._handler, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        with self._arrived:
            return [message_from_bytes(m.as_bytes(), policy=policy.default) for m in self._box]

    def wait(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        """Block until ``count`` messages have arrived."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._box) >= count, timeout):
                raise TimeoutError(f"{len(self._box)} of {count} messages arrived")
        return self.messages()


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port
