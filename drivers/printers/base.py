"""The one interface every printer transport implements, and its errors."""

from __future__ import annotations

from typing import Protocol

from drivers.escpos.status import PrinterStatus


class PrinterError(Exception):
    """Base of transport errors. ``kind`` is short and countable."""

    kind = "printer"


class PrinterUnavailableError(PrinterError):
    """Could not reach the printer (not found, refused, no known GATT service)."""

    kind = "unavailable"


class LinkLostError(PrinterError):
    """The link dropped during a write. ``sent`` bytes are known to have arrived; when
    ``certain`` is false, some bytes after ``sent`` may have arrived too."""

    kind = "link_lost"

    def __init__(self, message: str, *, sent: int, certain: bool) -> None:
        super().__init__(message)
        self.sent = sent
        self.certain = certain


class StatusTimeoutError(PrinterError):
    """The printer did not answer a status request in time."""

    kind = "status_timeout"


class PrinterTransport(Protocol):
    """Connect, write a whole job, ask the status, close."""

    @property
    def name(self) -> str: ...

    async def connect(self) -> None: ...

    async def write(self, data: bytes) -> None:
        """Send all of ``data``; raises :class:`LinkLostError` if the link drops for good."""
        ...

    async def read_status(self) -> PrinterStatus: ...

    async def close(self) -> None: ...
