"""Bluetooth LE printers with bleak: probe the known GATT pairs, chunk by MTU, resume.

A job is written in chunks of MTU−3 bytes (with response where the characteristic offers it,
else without, with a short pause). With write-with-response every acknowledged chunk is known
to be in the printer, so when the link drops the transport reconnects and resumes at the next
chunk boundary; without responses it cannot know, and raises :class:`LinkLostError` with
``certain=False`` so the print queue reprints the job as a copy.

``backend=`` passes a bleak client backend through (tests use one over a virtual air).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from drivers.escpos.status import ANSWER_SIZE, QUERY, PrinterStatus, parse_status
from drivers.printers.base import (
    LinkLostError,
    PrinterError,
    PrinterUnavailableError,
    StatusTimeoutError,
)

log = structlog.get_logger(__name__)


def _uuid16(short: str) -> str:
    return f"0000{short.lower()}-0000-1000-8000-00805f9b34fb"


@dataclass(frozen=True)
class GattPair:
    service: str
    write: str
    notify: str | None


# REFERENCE §2, most common first. The notify characteristics carry status answers.
KNOWN_PAIRS: tuple[GattPair, ...] = (
    GattPair(_uuid16("18f0"), _uuid16("2af1"), _uuid16("2af0")),
    GattPair(
        "49535343-fe7d-4ae5-8fa9-9fafd205e455",
        "49535343-8841-43f4-a8d4-ecbe34729bb3",
        "49535343-1e4d-4bd9-ba61-23c647249616",
    ),
    GattPair("e7810a71-73ae-499d-8c15-faa9aef0c3f2", "bef8d6c9-9c21-4c9e-b632-bd58c1009f9f", None),
    GattPair(_uuid16("ff00"), _uuid16("ff02"), _uuid16("ff01")),
    GattPair(_uuid16("ffe0"), _uuid16("ffe1"), _uuid16("ffe1")),
)
KNOWN_SERVICES = [p.service for p in KNOWN_PAIRS]
MIN_CHUNK, MAX_CHUNK = 20, 512
_LINK_ERRORS = (BleakError, EOFError, OSError, TimeoutError)


class StatusUnsupportedError(PrinterError):
    """The printer has no notify characteristic: it cannot answer status requests."""

    kind = "no_status"


async def find_printer(
    *,
    scan_s: float = 5.0,
    name_prefix: str = "",
    backend: type[BaseBleakScanner] | None = None,
) -> BLEDevice:
    """The first advertising device that offers a known printer service (and name prefix)."""

    def match(device: BLEDevice, adv: Any) -> bool:
        offers = any(u.lower() in KNOWN_SERVICES for u in adv.service_uuids)
        return offers and (adv.local_name or "").startswith(name_prefix)

    options: dict[str, Any] = {} if backend is None else {"backend": backend}
    device = await BleakScanner.find_device_by_filter(match, timeout=scan_s, **options)
    if device is None:
        raise PrinterUnavailableError(f"no BLE printer found in {scan_s} s")
    return device


class BlePrinter:
    def __init__(
        self,
        address: str | BLEDevice,
        *,
        backend: type[BaseBleakClient] | None = None,
        connect_timeout: float = 10.0,
        status_timeout: float = 2.0,
        write_timeout: float = 10.0,
        reconnect_attempts: int = 3,
        reconnect_delay: float = 0.5,
        pause_without_response: float = 0.02,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.address = address
        self.backend = backend
        self.connect_timeout = connect_timeout
        self.status_timeout = status_timeout
        self.write_timeout = write_timeout
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_delay = reconnect_delay
        self.pause = pause_without_response
        self._sleep = sleep
        self._client: BleakClient | None = None
        self._write_char: BleakGATTCharacteristic | None = None
        self._notify_char: BleakGATTCharacteristic | None = None
        self._inbox = bytearray()
        self._inbox_event = asyncio.Event()
        self.with_response = True
        self.chunk_size = MIN_CHUNK
        self.pair: GattPair | None = None
        self.reconnects = 0

    @property
    def name(self) -> str:
        address = self.address if isinstance(self.address, str) else self.address.address
        return f"ble://{address}"

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def connect(self) -> None:
        client = BleakClient(self.address, timeout=self.connect_timeout, backend=self.backend)
        try:
            await client.connect()
        except _LINK_ERRORS as exc:
            raise PrinterUnavailableError(f"{self.name}: cannot connect: {exc!r}") from exc
        try:
            self._probe(client)
        except PrinterUnavailableError:
            await client.disconnect()
            raise
        self._client = client
        if self._notify_char is not None:
            await client.start_notify(self._notify_char, self._on_notify)
        log.debug(
            "ble.connected",
            printer=self.name,
            chunk=self.chunk_size,
            with_response=self.with_response,
        )

    def _probe(self, client: BleakClient) -> None:
        for pair in KNOWN_PAIRS:
            service = client.services.get_service(pair.service)
            if service is None:
                continue
            char = service.get_characteristic(pair.write)
            if char is None:
                continue
            props = char.properties
            if "write" in props:
                self.with_response = True
                size = client.mtu_size - 3
            elif "write-without-response" in props:
                self.with_response = False
                size = char.max_write_without_response_size
            else:
                continue
            self.chunk_size = max(MIN_CHUNK, min(MAX_CHUNK, size))
            self._write_char = char
            notify = service.get_characteristic(pair.notify) if pair.notify else None
            self._notify_char = (
                notify
                if notify is not None
                and ("notify" in notify.properties or "indicate" in notify.properties)
                else None
            )
            self.pair = pair
            return
        raise PrinterUnavailableError(f"{self.name}: offers none of the known printer services")

    def _on_notify(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self._inbox += data
        self._inbox_event.set()

    async def _reconnect(self, sent: int, attempt: int) -> None:
        await self._drop()
        await self._sleep(self.reconnect_delay * attempt)
        try:
            await self.connect()
        except PrinterUnavailableError as exc:
            log.info("ble.reconnect_failed", printer=self.name, attempt=attempt, error=str(exc))
            return
        self.reconnects += 1
        log.info("ble.resumed", printer=self.name, at_byte=sent)

    async def write(self, data: bytes) -> None:
        if not self.connected:
            await self.connect()
        sent = 0
        failures = 0  # consecutive failed attempts at the current chunk
        while sent < len(data):
            if not self.connected and sent and not self.with_response:
                raise LinkLostError(
                    f"{self.name}: link lost after {sent} bytes (no acknowledgements)",
                    sent=sent,
                    certain=False,
                )
            if not self.connected:
                failures += 1
                if failures > self.reconnect_attempts:
                    raise LinkLostError(
                        f"{self.name}: link lost after {sent} bytes; "
                        f"{self.reconnect_attempts} reconnects failed",
                        sent=sent,
                        certain=True,
                    )
                await self._reconnect(sent, failures)
                continue
            assert self._client is not None
            assert self._write_char is not None
            chunk = data[sent : sent + self.chunk_size]
            try:
                async with asyncio.timeout(self.write_timeout):
                    await self._client.write_gatt_char(
                        self._write_char, chunk, response=self.with_response
                    )
            except _LINK_ERRORS as exc:
                if not self.with_response:
                    raise LinkLostError(
                        f"{self.name}: link lost after {sent} bytes (no acknowledgements)",
                        sent=sent,
                        certain=False,
                    ) from exc
                log.info("ble.link_lost", printer=self.name, at_byte=sent, error=repr(exc))
                await self._drop()
                continue
            sent += len(chunk)
            failures = 0
            if not self.with_response:
                await self._sleep(self.pause)

    async def read_status(self) -> PrinterStatus:
        if not self.connected:
            await self.connect()
        if self._notify_char is None:
            raise StatusUnsupportedError(f"{self.name}: no notify characteristic for status")
        self._inbox.clear()
        self._inbox_event.clear()
        await self.write(QUERY)
        try:
            async with asyncio.timeout(self.status_timeout):
                while len(self._inbox) < ANSWER_SIZE:
                    await self._inbox_event.wait()
                    self._inbox_event.clear()
        except TimeoutError as exc:
            raise StatusTimeoutError(f"{self.name}: no status answer") from exc
        answer = bytes(self._inbox[:ANSWER_SIZE])
        del self._inbox[:ANSWER_SIZE]
        return parse_status(answer)

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*_LINK_ERRORS):  # already gone: nothing to close
                await client.disconnect()

    async def close(self) -> None:
        await self._drop()
