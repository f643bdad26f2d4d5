"""Raw TCP (port 9100, "JetDirect") printers.

The kernel takes a whole job at once, so ``write`` returns long before a slow printer has
consumed it; the status answer that confirms the job comes only after the printer reached it.
The wait for that answer therefore grows with the bytes not yet confirmed, at the link's
measured speed (bytes between two answers over the time between them), or at ``min_rate_bps``
(the slowest link the printer is supported on) until a job has been measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from drivers.escpos.status import ANSWER_SIZE, QUERY, PrinterStatus, parse_status
from drivers.printers.base import (
    LinkLostError,
    PrinterUnavailableError,
    StatusTimeoutError,
)

STALE_WAIT_S = 0.01
MIN_SAMPLE_BYTES = 1024  # fewer bytes say more about latency than about speed
SAFETY = 2.0  # the wait assumes the link may be this much slower than measured


class TcpPrinter:
    def __init__(
        self,
        host: str,
        port: int = 9100,
        *,
        connect_timeout: float = 5.0,
        status_timeout: float = 2.0,
        min_rate_bps: float = 1000.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_rate_bps <= 0:
            raise ValueError(f"min_rate_bps must be positive, not {min_rate_bps}")
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self.status_timeout = status_timeout
        self.min_rate_bps = min_rate_bps
        self.measured_bps: float | None = None
        self._clock = clock
        self._unconfirmed = 0  # bytes written since the last status answer
        self._since = 0.0  # when the first of them was written
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def name(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    async def connect(self) -> None:
        try:
            async with asyncio.timeout(self.connect_timeout):
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        except (OSError, TimeoutError) as exc:
            raise PrinterUnavailableError(f"{self.name}: cannot connect: {exc!r}") from exc

    def answer_wait(self) -> float:
        """Seconds to wait for a status answer queued behind the unconfirmed bytes."""
        rate = self.min_rate_bps if self.measured_bps is None else self.measured_bps / SAFETY
        return self.status_timeout + self._unconfirmed / rate

    async def write(self, data: bytes) -> None:
        if self._writer is None:
            await self.connect()
        assert self._writer is not None
        if not self._unconfirmed:
            self._since = self._clock()
        self._unconfirmed += len(data)
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as exc:
            raise LinkLostError(f"{self.name}: {exc!r}", sent=0, certain=False) from exc

    async def read_status(self) -> PrinterStatus:
        if self._writer is None or self._reader is None:
            await self.connect()
        assert self._writer is not None
        assert self._reader is not None
        try:
            await self._discard_stale(self._reader)
            self._writer.write(QUERY)
            await self._writer.drain()
            async with asyncio.timeout(self.answer_wait()):
                answer = await self._reader.readexactly(ANSWER_SIZE)
        except TimeoutError as exc:
            raise StatusTimeoutError(f"{self.name}: no status answer") from exc
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise LinkLostError(f"{self.name}: {exc!r}", sent=0, certain=False) from exc
        self._measure()
        return parse_status(answer)

    def _measure(self) -> None:
        """The answer came after the printer consumed every byte before it: a speed sample."""
        elapsed = self._clock() - self._since
        if self._unconfirmed >= MIN_SAMPLE_BYTES and elapsed > 0:
            sample = self._unconfirmed / elapsed
            old = self.measured_bps
            self.measured_bps = sample if old is None else (old + sample) / 2
        self._unconfirmed = 0

    @staticmethod
    async def _discard_stale(reader: asyncio.StreamReader) -> None:
        """Drop bytes that arrived unasked (a status-like sequence inside image data)."""
        while True:
            try:
                async with asyncio.timeout(STALE_WAIT_S):
                    if not await reader.read(64):
                        return
            except TimeoutError:
                return

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        self._unconfirmed = 0
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):  # reset by the peer: nothing left to close
                await writer.wait_closed()
