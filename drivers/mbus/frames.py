"""M-Bus link-layer frames (EN 13757-2): building them, and a sans-IO stream parser.

    single character   E5
    short frame        10 C A CS 16
    control frame      68 03 03 68 C A CI CS 16
    long frame         68 L L 68 C A CI data... CS 16     L = 3 + len(data)

CS is the sum of C, A, CI and the data, modulo 256.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.mbus.errors import ChecksumError, LocalProtocolError, RemoteProtocolError

ACK_BYTE = 0xE5
SHORT_START = 0x10
LONG_START = 0x68
STOP = 0x16

# C field, master to meter
SND_NKE = 0x40
SND_UD = 0x53
REQ_UD2 = 0x5B
REQ_UD1 = 0x5A
FCB = 0x20  # frame count bit
FCV = 0x10  # frame count bit valid
# C field, meter to master
RSP_UD = 0x08
# CI field
CI_SELECT = 0x52  # select a meter by secondary address (SND_UD to 0xFD)
CI_RSP_UD_LONG = 0x72  # variable data response with the 12-byte header
CI_RSP_UD_NONE = 0x78  # variable data response without header
# addresses
ADDRESS_NETWORK = 0xFD  # the meter selected by secondary address
ADDRESS_BROADCAST_REPLY = 0xFE
ADDRESS_BROADCAST = 0xFF
MAX_PRIMARY = 250
MAX_DATA = 252


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class ShortFrame:
    c: int
    a: int


@dataclass(frozen=True)
class LongFrame:
    """A long frame; a control frame is one with no data."""

    c: int
    a: int
    ci: int
    data: bytes = b""


Frame = Ack | ShortFrame | LongFrame


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def encode(frame: Frame) -> bytes:
    if isinstance(frame, Ack):
        return bytes([ACK_BYTE])
    if not (0 <= frame.c <= 0xFF and 0 <= frame.a <= 0xFF):
        raise LocalProtocolError(f"C and A fields are bytes, got {frame.c!r}, {frame.a!r}")
    if isinstance(frame, ShortFrame):
        return bytes([SHORT_START, frame.c, frame.a, checksum(bytes([frame.c, frame.a])), STOP])
    if len(frame.data) > MAX_DATA or not 0 <= frame.ci <= 0xFF:
        raise LocalProtocolError(f"long frame data of {len(frame.data)} bytes (at most 252)")
    body = bytes([frame.c, frame.a, frame.ci]) + frame.data
    length = len(body)
    return bytes([LONG_START, length, length, LONG_START]) + body + bytes([checksum(body), STOP])


class NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


class FrameParser:
    """Bytes in, frames out. After a :class:`RemoteProtocolError` the bad bytes are still
    buffered: a master gives up on the transaction; a meter calls :meth:`resync` and goes on."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.offset = 0  # stream offset of the buffer's first byte

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def resync(self) -> None:
        """Drop the first byte and anything up to the next possible frame start."""
        drop = 1
        while drop < len(self._buffer) and self._buffer[drop] not in (
            ACK_BYTE,
            SHORT_START,
            LONG_START,
        ):
            drop += 1
        self._consume(drop)

    def _consume(self, count: int) -> bytes:
        taken = bytes(self._buffer[:count])
        del self._buffer[:count]
        self.offset += count
        return taken

    def next_event(self) -> Frame | NeedData:
        if not self._buffer:
            return NEED_DATA
        start = self._buffer[0]
        where = f"byte {self.offset}"
        if start == ACK_BYTE:
            self._consume(1)
            return Ack()
        if start == SHORT_START:
            if len(self._buffer) < 5:
                return NEED_DATA
            c, a, cs, stop = self._buffer[1:5]
            if stop != STOP:
                raise RemoteProtocolError(f"short frame ends 0x{stop:02x}, not 0x16", where=where)
            if checksum(bytes([c, a])) != cs:
                raise ChecksumError(f"short frame checksum 0x{cs:02x}", where=where)
            self._consume(5)
            return ShortFrame(c=c, a=a)
        if start == LONG_START:
            return self._long(where)
        raise RemoteProtocolError(f"0x{start:02x} starts no M-Bus frame", where=where)

    def _long(self, where: str) -> Frame | NeedData:
        if len(self._buffer) < 4:
            return NEED_DATA
        length, repeat, start2 = self._buffer[1:4]
        if length != repeat or start2 != LONG_START:
            raise RemoteProtocolError(
                f"long frame header 68 {length:02x} {repeat:02x} {start2:02x}", where=where
            )
        if length < 3:
            raise RemoteProtocolError(f"long frame length {length} under 3", where=where)
        total = 4 + length + 2
        if len(self._buffer) < total:
            return NEED_DATA
        body = bytes(self._buffer[4 : 4 + length])
        cs, stop = self._buffer[4 + length], self._buffer[5 + length]
        if stop != STOP:
            raise RemoteProtocolError(f"long frame ends 0x{stop:02x}, not 0x16", where=where)
        if checksum(body) != cs:
            raise ChecksumError(
                f"long frame checksum 0x{cs:02x}, computed 0x{checksum(body):02x}", where=where
            )
        self._consume(total)
        return LongFrame(c=body[0], a=body[1], ci=body[2], data=body[3:])
