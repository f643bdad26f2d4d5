"""The meter's side of mode C, sans I/O: reader requests in, events out.

A meter ignores what it cannot parse and waits for the next ``/``; this codec does the same and
reports the skipped bytes as :class:`Garbled` so a simulator can count them. Answers are built
with :func:`drivers.iec62056.frames.encode_identification` and ``encode_data_block``.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.iec62056.frames import ACK, BAUD_CHARS, CRLF, ETX, NAK, SOH, bcc

_STARTS = frozenset({ord("/"), ACK, NAK, SOH})
_MAX_REQUEST = 64


@dataclass(frozen=True)
class SignOnRequest:
    address: str


@dataclass(frozen=True)
class OptionSelect:
    protocol_char: str
    baud_char: str
    mode_char: str


@dataclass(frozen=True)
class Nak:
    pass


@dataclass(frozen=True)
class Command:
    """A SOH command message (``B0`` is break); ``bcc_ok`` False means it was corrupted."""

    text: str
    bcc_ok: bool


@dataclass(frozen=True)
class Garbled:
    data: bytes


@dataclass(frozen=True)
class NeedData:
    pass


MeterEvent = SignOnRequest | OptionSelect | Nak | Command | Garbled | NeedData


class MeterCodec:
    def __init__(self) -> None:
        self._buffer = bytearray()

    def receive_data(self, data: bytes) -> None:
        self._buffer += bytes(b & 0x7F for b in data)  # 7-bit protocol: drop any parity bit

    def next_event(self) -> MeterEvent:
        skip = 0
        while skip < len(self._buffer) and self._buffer[skip] not in _STARTS:
            skip += 1
        if skip:
            junk = bytes(self._buffer[:skip])
            del self._buffer[:skip]
            if junk.strip(b"\x00\r\n"):
                return Garbled(junk)
        if not self._buffer:
            return NeedData()
        first = self._buffer[0]
        if first == NAK:
            del self._buffer[:1]
            return Nak()
        if first == SOH:
            return self._command()
        end = self._buffer.find(CRLF)
        if end < 0:
            if len(self._buffer) > _MAX_REQUEST:
                return self._drop_first()
            return NeedData()
        line = bytes(self._buffer[: end + 2])
        del self._buffer[: end + 2]
        if first == ACK:
            text = line[1:-2].decode("ascii", "replace")
            if len(text) == 3 and text[1] in BAUD_CHARS:
                return OptionSelect(protocol_char=text[0], baud_char=text[1], mode_char=text[2])
            return Garbled(line)
        text = line.decode("ascii", "replace")
        if text.startswith("/?") and text.endswith("!\r\n"):
            return SignOnRequest(address=text[2:-3])
        return Garbled(line)

    def _command(self) -> MeterEvent:
        end = self._buffer.find(bytes([ETX]))
        if end < 0 or end + 1 >= len(self._buffer):
            if len(self._buffer) > _MAX_REQUEST * 4:
                return self._drop_first()
            return NeedData()
        message = bytes(self._buffer[: end + 2])
        del self._buffer[: end + 2]
        body = message[1:-1]
        text = body[:-1].decode("ascii", "replace")
        return Command(text=text, bcc_ok=bcc(body) == message[-1])

    def _drop_first(self) -> MeterEvent:
        junk = bytes(self._buffer[:1])
        del self._buffer[:1]
        return Garbled(junk)
