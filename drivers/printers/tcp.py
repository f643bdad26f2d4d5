"""Raw TCP (port 9100, "JetDirect") printers."""

from __future__ import annotations

import asyncio
import contextlib

from drivers.escpos.status import ANSWER_SIZE, QUERY, PrinterStatus, parse_status
from drivers.printers.base import (
    LinkLostError,
    PrinterUnavailableError,
    StatusTimeoutError,
)

STALE_WAIT_S = 0.01


class TcpPrinter:
    def __init__(
        self,
        host: str,
        port: int = 9100,
        *,
        connect_timeout: float = 5.0,
        status_timeout: float = 2.0,
    ) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self.status_timeout = status_timeout
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

    async def write(self, data: bytes) -> None:
        if self._writer is None:
            await self.connect()
        assert self._writer is not None
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
            async with asyncio.timeout(self.status_timeout):
                answer = await self._reader.readexactly(ANSWER_SIZE)
        except TimeoutError as exc:
            raise StatusTimeoutError(f"{self.name}: no status answer") from exc
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise LinkLostError(f"{self.name}: {exc!r}", sent=0, certain=False) from exc
        return parse_status(answer)

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
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):  # reset by the peer: nothing left to close
                await writer.wait_closed()
