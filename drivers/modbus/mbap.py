"""Modbus TCP answers as a client sees them, sans-IO: a frame is believed only when it all agrees.

A Modbus TCP stream has no checksum and no resynchronisation: a frame's only boundary is the
length in its MBAP header. A broken gateway that cuts an answer short (the header still
announcing all of it) makes the next answer on the connection complete it, and everything after
that is read at the wrong offset. So before :meth:`MbapAnswerDecoder.next_answer` hands out a
frame it checks that

* the header agrees with itself: protocol id 0, a length that matches the function code
  (3 for an exception answer) and the byte count (length = byte count + 3);
* no other answer's header starts inside its data: the bytes of a frame that was cut short are
  followed by the next frame's header (a transaction id this client issued, protocol 0, a length
  that agrees with its byte count), wholly inside the frame or running past its end into the
  bytes that have arrived after it. A frame still incomplete is checked as its bytes come, so a
  cut answer is found when the next answer's header arrives, not only once enough bytes came
  to fill the length the cut one announced (behind a serial gateway, one request at a time,
  that could take many answers).

What follows a good frame is the next frame's business: garbage after it breaks the stream when
it is read, without taking back the answer before it. One cut stays out of reach: an answer
cut less than 8 bytes short whose next answer's first bytes end a TCP segment exactly where the
cut answer should have ended; its last value would hold those bytes.

Bytes that fail raise :class:`StreamBroken` (a fatal :class:`ModbusFrameError`): the stream
cannot be framed any more and must be closed. ``suspect`` is the transaction id whose answer was
broken, where the decoder can tell; every other request on the stream should be sent again on a
new connection, none of them may take an answer from this one.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import NamedTuple

from drivers.modbus.frames import ModbusFrameError

_HEAD = struct.Struct(">HHHBBB")  # transaction, protocol, length, unit, function, byte count
HEAD_SIZE = 9  # an exception answer is exactly this long; every answer starts with it
# protocol 0, then length 3, a unit and an exception, or a longer length, a unit and a read
_INNER_HEAD = re.compile(rb"\x00\x00(?:\x00\x03.[\x80-\xff]|\x00[\x04-\xfe].[\x01-\x04])", re.S)
_SEARCH = _INNER_HEAD.search


class StreamBroken(ModbusFrameError):
    """The stream cannot be framed. ``suspect``: the transaction whose answer broke it, if known."""

    def __init__(self, reason: str, *, suspect: int | None = None) -> None:
        super().__init__(reason, fatal=True)
        self.suspect = suspect


class MbapAnswer(NamedTuple):
    """A framed answer. ``body``: the register bytes, or the exception code of a refusal.

    (A named tuple: one is made per answer, and a frozen dataclass costs three times as much.)
    """

    transaction: int
    unit: int
    fc: int
    body: bytes

    @property
    def refused(self) -> bool:
        return self.fc >= 0x80


def head_fault(buf: bytes | bytearray, at: int, n: int) -> str | None:
    """Why the ``n`` bytes (at most 9) at ``buf[at]`` cannot start an answer, or ``None``."""
    if n >= 4 and (buf[at + 2] or buf[at + 3]):
        return f"protocol id {buf[at + 2] << 8 | buf[at + 3]} in an MBAP header"
    if n < 6:
        return None
    length = buf[at + 4] << 8 | buf[at + 5]
    if not 3 <= length <= 253:
        return f"MBAP length {length} cannot hold a read answer"
    if n < 8:
        return None
    fc = buf[at + 7]
    if fc >= 0x80:
        return None if length == 3 else f"exception answer with MBAP length {length}, not 3"
    if not 1 <= fc <= 4:
        return f"function code {fc:#04x} in an answer to a read"
    if n >= 9 and buf[at + 8] + 3 != length:
        return f"MBAP length {length} but byte count {buf[at + 8]} (length must be count + 3)"
    return None


class MbapAnswerDecoder:
    """Answers from a Modbus TCP server, each checked before it is handed out.

    ``issued(tid)`` says whether this client sent a request with that transaction id that may
    still be answered (waiting, or given up on not long ago): a header with such an id inside a
    frame's data shows that the frame was cut short.
    """

    def __init__(self, issued: Callable[[int], bool]) -> None:
        self._buf = bytearray()
        self._issued = issued

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    @property
    def pending(self) -> int:
        return len(self._buf)

    def _broken(self, reason: str, suspect: int | None) -> StreamBroken:
        self._buf.clear()
        return StreamBroken(reason, suspect=suspect)

    def next_answer(self) -> MbapAnswer | None:
        """The next whole answer, ``None`` while more bytes are needed; or :class:`StreamBroken`."""
        buf = self._buf
        n = len(buf)
        if n < HEAD_SIZE:
            fault = head_fault(buf, 0, n) if n >= 4 else None
            if fault is not None:
                raise self._broken(fault, None)
            return None
        tid, protocol, length, unit, fc, count = _HEAD.unpack_from(buf)
        if protocol or not ((1 <= fc <= 4 and length == count + 3) or (fc >= 0x80 and length == 3)):
            reason = head_fault(buf, 0, HEAD_SIZE) or "bad MBAP header"
            raise self._broken(reason, tid if protocol == 0 and self._issued(tid) else None)
        size = 6 + length
        if n < size:
            # the next answer's header already there: cut short, do not wait for the rest
            if _SEARCH(buf, HEAD_SIZE + 2, n) is not None and self._inner_head(buf, n, n):
                raise self._broken(
                    f"answer {tid:#06x} holds another answer's header: it was cut short", tid
                )
            return None
        end = n if n < size + 7 else size + 7
        if (
            size > HEAD_SIZE
            and (_SEARCH(buf, HEAD_SIZE + 2, end) is not None or size < n < size + 8)
            and self._inner_head(buf, size, n)
        ):
            raise self._broken(
                f"answer {tid:#06x} holds another answer's header: it was cut short", tid
            )
        body = bytes(buf[HEAD_SIZE:size]) if fc < 0x80 else bytes(buf[8:9])
        del buf[:size]
        return MbapAnswer(tid, unit, fc, body)

    def _inner_head(self, buf: bytearray, size: int, n: int) -> bool:
        """Whether an issued request's answer header starts inside ``buf[9:size]``.

        Such a header may run past ``size`` (the frame was cut less than a header short): the
        bytes that have arrived after the frame are looked at as far as they go.
        """
        issued = self._issued
        end = min(n, size + 7)
        for m in _INNER_HEAD.finditer(buf, HEAD_SIZE + 2, end):
            at = m.start() - 2  # its transaction id comes first
            if head_fault(buf, at, min(HEAD_SIZE, n - at)) is None and issued(
                buf[at] << 8 | buf[at + 1]
            ):
                return True
        if n == size:
            return False
        # the start of a header (id, protocol 0, length) across the end, as far as it came
        for at in range(max(HEAD_SIZE, n - 7), min(size, n - 5)):
            if (
                buf[at + 2] == buf[at + 3] == 0
                and head_fault(buf, at, n - at) is None
                and issued(buf[at] << 8 | buf[at + 1])
            ):
                return True
        return False
