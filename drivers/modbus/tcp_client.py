"""A Modbus TCP client: MBAP frames over one connection, answers matched by transaction id.

``await client.read(unit, fc, address, count, timeout_s=...)`` sends one FC03/FC04 request and
returns the answer's register bytes as the server sent them (big-endian words), or raises
:class:`ModbusTcpError` with a countable ``kind``:

* ``timeout`` — no answer in time. The connection stays up: a late answer carries a transaction
  id nobody waits for any more and is dropped (counted in ``stray_frames``);
* ``connection`` — not connected, refused, or lost while waiting;
* ``exception_code`` — the server refused the request (``code`` holds the Modbus exception);
* ``protocol`` — an answer that does not fit its request (function, unit, length). A stream that
  cannot be framed any more (bad MBAP header) is closed, and every request waiting on it fails.

Requests may be in flight together on one connection (a TCP gateway with many meters behind it
queues them); callers that must not overlap serialise themselves. The client is an asyncio
buffered protocol: segments are received into one buffer, answers resolve their requests'
futures, no task per request, so one core keeps thousands of meters busy.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Literal

from drivers.modbus.frames import (
    MbapDecoder,
    MbapFrame,
    ModbusExceptionCode,
    ModbusFrameError,
    read_response_data,
)

ErrorKind = Literal["timeout", "connection", "exception_code", "protocol"]

_INBOX = 4096  # an answer is at most 260 bytes; more waits for the next recv
_REQUEST = struct.Struct(">HHHBBHH")  # MBAP (transaction, protocol, length, unit) + FC, addr, n


class ModbusTcpError(Exception):
    """A request without a usable answer. ``kind`` is countable; ``code`` is a Modbus exception."""

    def __init__(self, kind: ErrorKind, detail: str, *, code: int | None = None) -> None:
        self.kind = kind
        self.detail = detail
        self.code = code
        super().__init__(detail)


class _Pending:
    __slots__ = ("count", "fc", "future", "timer", "unit")

    def __init__(
        self,
        future: asyncio.Future[bytes],
        timer: asyncio.TimerHandle,
        unit: int,
        fc: int,
        count: int,
    ) -> None:
        self.future = future
        self.timer = timer
        self.unit = unit
        self.fc = fc
        self.count = count


class ModbusTcpClient(asyncio.BufferedProtocol):
    """One TCP connection to a Modbus server at ``host:port``."""

    def __init__(self, host: str, port: int = 502, *, connect_timeout_s: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._decoder = MbapDecoder()
        # Received bytes land in this one buffer (recv_into): a plain protocol would have a
        # 256 KiB bytes object made and freed per segment, an mmap and munmap each time.
        self._inbox = bytearray(_INBOX)
        self._inbox_view = memoryview(self._inbox)
        self._pending: dict[int, _Pending] = {}
        self._tid = 0
        self.frame_errors = 0  # answers that did not fit their request, or unframeable bytes
        self.stray_frames = 0  # answers nobody waited for (late, after a timeout)
        self.connects = 0

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def connect(self) -> None:
        """Open the connection (no-op when open). Raises ``ModbusTcpError('connection')``."""
        if self.connected:
            return
        loop = self._loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                await loop.create_connection(lambda: self, self.host, self.port)
        except TimeoutError as exc:
            raise ModbusTcpError("connection", f"{self.name}: connect timed out") from exc
        except OSError as exc:
            raise ModbusTcpError("connection", f"{self.name}: {exc.strerror or exc}") from exc
        self.connects += 1

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._fail_all(ModbusTcpError("connection", f"{self.name}: closed"))

    async def read(
        self, unit: int, fc: int, address: int, count: int, *, timeout_s: float
    ) -> bytes:
        """Registers ``address .. address+count-1`` of ``unit`` by FC03 or FC04, as bytes."""
        transport = self._transport
        loop = self._loop
        if transport is None or loop is None or transport.is_closing():
            raise ModbusTcpError("connection", f"{self.name}: not connected")
        tid = self._next_tid()
        future: asyncio.Future[bytes] = loop.create_future()
        timer = loop.call_later(timeout_s, self._expire, tid)
        self._pending[tid] = _Pending(future, timer, unit, fc, count)
        transport.write(_REQUEST.pack(tid, 0, 6, unit, fc, address, count))
        return await future

    def _next_tid(self) -> int:
        tid = self._tid
        pending = self._pending
        while True:
            tid = (tid + 1) & 0xFFFF
            if tid not in pending:
                self._tid = tid
                return tid

    def _expire(self, tid: int) -> None:
        p = self._pending.pop(tid, None)
        if p is not None and not p.future.done():
            p.future.set_exception(ModbusTcpError("timeout", f"{self.name}: no answer"))

    # -- asyncio.BufferedProtocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._decoder = MbapDecoder()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        reason = f"{self.name}: connection lost" + (f" ({exc})" if exc else "")
        self._fail_all(ModbusTcpError("connection", reason))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._inbox_view

    def buffer_updated(self, nbytes: int) -> None:
        decoder = self._decoder
        decoder.feed(self._inbox[:nbytes])
        while True:
            try:
                frame = decoder.next_frame()
            except ModbusFrameError as exc:  # the stream cannot be framed any more
                self.frame_errors += 1
                if self._transport is not None:
                    self._transport.close()
                self._fail_all(ModbusTcpError("protocol", f"{self.name}: {exc.reason}"))
                return
            if frame is None:
                return
            self._answer(frame)

    def _answer(self, frame: MbapFrame) -> None:
        p = self._pending.pop(frame.transaction, None)
        if p is None:
            self.stray_frames += 1
            return
        p.timer.cancel()
        future = p.future
        if future.done():  # the caller gave up (cancelled)
            return
        try:
            if frame.unit != p.unit:
                raise ModbusFrameError(f"answer from unit {frame.unit} to a request to {p.unit}")
            future.set_result(read_response_data(frame.pdu, p.fc, p.count))
        except ModbusExceptionCode as exc:
            future.set_exception(
                ModbusTcpError("exception_code", f"exception {exc.code:#04x}", code=exc.code)
            )
        except ModbusFrameError as exc:
            self.frame_errors += 1
            future.set_exception(ModbusTcpError("protocol", f"{self.name}: {exc.reason}"))

    def _fail_all(self, error: ModbusTcpError) -> None:
        pending, self._pending = self._pending, {}
        for p in pending.values():
            p.timer.cancel()
            if not p.future.done():
                p.future.set_exception(error)
