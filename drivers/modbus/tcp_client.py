"""A Modbus TCP client: MBAP frames over one connection, answers matched by transaction id.

``await client.read(unit, fc, address, count, timeout_s=...)`` sends one FC03/FC04 request and
returns the answer's register bytes as the server sent them (big-endian words), or raises
:class:`ModbusTcpError` with a countable ``kind``:

* ``timeout`` — no answer in time. The connection stays up: a late answer carries a transaction
  id nobody waits for any more and is dropped (counted in ``stray_late``);
* ``wrong_transaction`` — an answer that fits the request (unit, function, length) came with a
  transaction id this client never sent (counted in ``stray_unknown``); it is not taken;
* ``connection`` — not connected, refused, or lost while waiting;
* ``exception_code`` — the server refused the request (``code`` holds the Modbus exception);
* ``protocol`` — an answer that does not fit its request (function, unit, length), or the
  answer that broke the stream (cut short, a wrong MBAP length);
* ``link_reset`` — the stream could not be framed any more (see :mod:`drivers.modbus.mbap`)
  and was closed while this request waited: its answer is lost, never mis-assigned, and the
  request may be sent again on a new connection.

Requests may be in flight together on one connection (a TCP gateway with many meters behind it
queues them); callers that must not overlap serialise themselves. Each connection is an asyncio
buffered protocol (:class:`_Stream`): segments are received into one buffer, answers resolve
their requests' futures, no task per request, so one core keeps thousands of meters busy.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Literal

from drivers.modbus.mbap import MbapAnswer, MbapAnswerDecoder, StreamBroken

ErrorKind = Literal[
    "timeout", "wrong_transaction", "connection", "exception_code", "protocol", "link_reset"
]

_INBOX = 4096  # an answer is at most 260 bytes; more waits for the next recv
_REQUEST = struct.Struct(">HHHBBHH")  # MBAP (transaction, protocol, length, unit) + FC, addr, n
_RECENT = 1024  # transaction ids given up on that a late answer may still carry


class ModbusTcpError(Exception):
    """A request without a usable answer. ``kind`` is countable; ``code`` is a Modbus exception."""

    def __init__(self, kind: ErrorKind, detail: str, *, code: int | None = None) -> None:
        self.kind = kind
        self.detail = detail
        self.code = code
        super().__init__(detail)


class _Pending:
    __slots__ = ("count", "fc", "future", "misnumbered", "timer", "unit")

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
        self.misnumbered: int | None = None  # a fitting answer came with this unknown id

    def fits(self, answer: MbapAnswer) -> bool:
        return (
            answer.unit == self.unit
            and answer.fc & 0x7F == self.fc
            and (answer.refused or len(answer.body) == 2 * self.count)
        )


class ModbusTcpClient:
    """One TCP connection at a time to a Modbus server at ``host:port``."""

    def __init__(self, host: str, port: int = 502, *, connect_timeout_s: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self._stream: _Stream | None = None
        self._connecting = asyncio.Lock()
        self._tid = 0
        self.frame_errors = 0  # answers that did not fit their request, or broke the stream
        self.stray_late = 0  # answers to requests given up on (timed out)
        self.stray_unknown = 0  # answers with a transaction id this client did not send
        self.link_resets = 0  # streams closed because they could not be framed
        self.connects = 0

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def stray_frames(self) -> int:
        return self.stray_late + self.stray_unknown

    @property
    def connected(self) -> bool:
        s = self._stream
        return s is not None and not s.transport.is_closing()

    @property
    def in_flight(self) -> int:
        return len(self._stream.pending) if self._stream is not None else 0

    async def connect(self) -> None:
        """Open the connection (no-op when open). Raises ``ModbusTcpError('connection')``."""
        async with self._connecting:  # meters sharing the client connect once, not each
            if self.connected:
                return
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self.connect_timeout_s):
                    _, stream = await loop.create_connection(
                        lambda: _Stream(self), self.host, self.port
                    )
            except TimeoutError as exc:
                raise ModbusTcpError("connection", f"{self.name}: connect timed out") from exc
            except OSError as exc:
                raise ModbusTcpError("connection", f"{self.name}: {exc.strerror or exc}") from exc
            self._stream = stream
            self.connects += 1

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close(ModbusTcpError("connection", f"{self.name}: closed"))

    async def read(
        self, unit: int, fc: int, address: int, count: int, *, timeout_s: float
    ) -> bytes:
        """Registers ``address .. address+count-1`` of ``unit`` by FC03 or FC04, as bytes."""
        stream = self._stream
        if stream is None or stream.transport.is_closing():
            raise ModbusTcpError("connection", f"{self.name}: not connected")
        tid = self._next_tid(stream)
        loop = stream.loop
        future: asyncio.Future[bytes] = loop.create_future()
        timer = loop.call_later(timeout_s, stream.expire, tid)
        stream.pending[tid] = _Pending(future, timer, unit, fc, count)
        stream.transport.write(_REQUEST.pack(tid, 0, 6, unit, fc, address, count))
        return await future

    def _next_tid(self, stream: _Stream) -> int:
        tid = self._tid
        pending, recent = stream.pending, stream.recent
        while True:
            tid = (tid + 1) & 0xFFFF
            if tid not in pending and tid not in recent:
                self._tid = tid
                return tid

    def _lost(self, stream: _Stream) -> None:
        if self._stream is stream:
            self._stream = None


class _Stream(asyncio.BufferedProtocol):
    """One connection: its requests waiting for answers, its decoder, its receive buffer."""

    def __init__(self, client: ModbusTcpClient) -> None:
        self.client = client
        self.loop = asyncio.get_running_loop()
        self.pending: dict[int, _Pending] = {}
        self.recent: dict[int, _Pending] = {}  # requests given up on, oldest first
        pending, recent = self.pending, self.recent
        self.decoder = MbapAnswerDecoder(lambda tid: tid in pending or tid in recent)
        # Received bytes land in this one buffer (recv_into): a plain protocol would have a
        # 256 KiB bytes object made and freed per segment, an mmap and munmap each time.
        self.inbox = bytearray(_INBOX)
        self.view = memoryview(self.inbox)
        self.transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._lost(self)
        reason = f"{self.client.name}: connection lost" + (f" ({exc})" if exc else "")
        self.fail_all(ModbusTcpError("connection", reason))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        decoder = self.decoder
        decoder.feed(self.view[:nbytes])
        try:
            while (answer := decoder.next_answer()) is not None:
                self.answer(answer)
        except StreamBroken as exc:
            self.broken(exc)

    def close(self, error: ModbusTcpError) -> None:
        self.transport.close()
        self.fail_all(error)

    def expire(self, tid: int) -> None:
        p = self.pending.pop(tid, None)
        if p is None:
            return
        recent = self.recent
        recent[tid] = p
        if len(recent) > _RECENT:
            del recent[next(iter(recent))]
        if p.future.done():
            return
        name = self.client.name
        if p.misnumbered is not None:
            detail = f"{name}: answered with transaction id {p.misnumbered:#06x}, not {tid:#06x}"
            p.future.set_exception(ModbusTcpError("wrong_transaction", detail))
        else:
            p.future.set_exception(ModbusTcpError("timeout", f"{name}: no answer"))

    def answer(self, answer: MbapAnswer) -> None:
        tid = answer.transaction
        p = self.pending.get(tid)
        if (  # the common case first
            p is not None
            and p.unit == answer.unit
            and p.fc == answer.fc
            and len(answer.body) == 2 * p.count
        ):
            del self.pending[tid]
            p.timer.cancel()
            if not p.future.done():
                p.future.set_result(answer.body)
            return
        if p is not None and p.fits(answer):
            del self.pending[tid]
            p.timer.cancel()
            self.resolve(p, answer)
        elif p is None and tid in self.recent and self.recent[tid].fits(answer):
            self.client.stray_late += 1  # the answer to a request given up on
        elif not self.misnumbered(answer) and p is not None:
            del self.pending[tid]
            p.timer.cancel()
            self.client.frame_errors += 1
            if answer.unit != p.unit:
                why = f"answer from unit {answer.unit} to a request to {p.unit}"
            else:
                why = (
                    f"answer FC{answer.fc:02d} with {len(answer.body)} bytes does not fit "
                    f"FC{p.fc:02d} x{p.count}"
                )
            if not p.future.done():
                p.future.set_exception(ModbusTcpError("protocol", f"{self.client.name}: {why}"))

    def resolve(self, p: _Pending, answer: MbapAnswer) -> None:
        future = p.future
        if future.done():  # the caller gave up (cancelled)
            return
        if answer.refused:
            code = answer.body[0]
            future.set_exception(
                ModbusTcpError("exception_code", f"exception {code:#04x}", code=code)
            )
        else:
            future.set_result(answer.body)

    def misnumbered(self, answer: MbapAnswer) -> bool:
        """Whether ``answer`` fits another waiting request: that request's answer with a wrong
        transaction id. It is not taken; the request fails as ``wrong_transaction``."""
        tid = answer.transaction
        fitting = [(t, p) for t, p in self.pending.items() if t != tid and p.fits(answer)]
        if fitting or tid not in self.pending:
            self.client.stray_unknown += 1
        if not fitting:
            return False
        for _, p in fitting:
            p.misnumbered = tid
        if len(fitting) == 1:  # it can only be this request's answer
            t, p = fitting[0]
            p.timer.cancel()
            self.expire(t)
        return True

    def broken(self, exc: StreamBroken) -> None:
        """Close a stream that cannot be framed: its suspect fails, the others may go again."""
        client = self.client
        client.frame_errors += 1
        client.link_resets += 1
        client._lost(self)
        self.transport.close()
        p = self.pending.pop(exc.suspect, None) if exc.suspect is not None else None
        if p is not None:
            p.timer.cancel()
            if not p.future.done():
                p.future.set_exception(ModbusTcpError("protocol", f"{client.name}: {exc.reason}"))
        self.fail_all(ModbusTcpError("link_reset", f"{client.name}: link reset after {exc.reason}"))

    def fail_all(self, error: ModbusTcpError) -> None:
        pending = list(self.pending.values())
        self.pending.clear()
        for p in pending:
            p.timer.cancel()
            if not p.future.done():
                p.future.set_exception(error)
