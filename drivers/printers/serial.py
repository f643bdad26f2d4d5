"""Serial printers and Bluetooth Classic SPP (``/dev/rfcomm0`` is a serial port).

pyserial is blocking; each call runs in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import asyncio

import serial

from drivers.escpos.status import ANSWER_SIZE, QUERY, PrinterStatus, parse_status
from drivers.printers.base import LinkLostError, PrinterUnavailableError, StatusTimeoutError

CHUNK = 4096


class SerialPrinter:
    def __init__(self, url: str, *, baudrate: int = 9600, status_timeout: float = 2.0) -> None:
        self.url = url
        self.baudrate = baudrate
        self.status_timeout = status_timeout
        self._port: serial.Serial | None = None

    @property
    def name(self) -> str:
        return self.url

    async def connect(self) -> None:
        try:
            self._port = await asyncio.to_thread(
                serial.serial_for_url,
                self.url,
                baudrate=self.baudrate,
                timeout=self.status_timeout,
                write_timeout=30,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PrinterUnavailableError(f"{self.url}: cannot open: {exc}") from exc

    async def _ensure(self) -> serial.Serial:
        if self._port is None:
            await self.connect()
        assert self._port is not None
        return self._port

    async def write(self, data: bytes) -> None:
        port = await self._ensure()
        sent = 0
        try:
            for i in range(0, len(data), CHUNK):
                await asyncio.to_thread(port.write, data[i : i + CHUNK])
                sent = i
            await asyncio.to_thread(port.flush)
        except (serial.SerialException, OSError) as exc:
            raise LinkLostError(f"{self.url}: {exc}", sent=sent, certain=False) from exc

    async def read_status(self) -> PrinterStatus:
        port = await self._ensure()
        try:
            await asyncio.to_thread(port.reset_input_buffer)
            await asyncio.to_thread(port.write, QUERY)
            answer = await asyncio.to_thread(port.read, ANSWER_SIZE)
        except (serial.SerialException, OSError) as exc:
            raise LinkLostError(f"{self.url}: {exc}", sent=0, certain=False) from exc
        if len(answer) < ANSWER_SIZE:
            raise StatusTimeoutError(f"{self.url}: no status answer")
        return parse_status(bytes(answer))

    async def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            await asyncio.to_thread(port.close)
