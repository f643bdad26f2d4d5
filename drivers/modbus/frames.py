"""Modbus frames, sans-IO: the PDU of register reads, RTU framing (CRC) and Modbus TCP (MBAP).

The decoders take bytes as they come (:meth:`feed`) and hand out whole frames
(:meth:`next_frame`). Bytes that cannot be a frame raise :class:`ModbusFrameError` *after* the
decoder has dropped them, so the caller counts the error and calls again: an RTU decoder
re-synchronises on the next good frame, a TCP stream must be closed (``fatal``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


class ModbusFrameError(Exception):
    """Bytes that are not a valid frame. ``fatal``: the stream cannot be re-synchronised."""

    def __init__(self, reason: str, *, fatal: bool = False) -> None:
        self.reason = reason
        self.fatal = fatal
        super().__init__(reason)


class ModbusExceptionCode(Exception):
    """A request a server must refuse with exception ``code`` (1 function, 2 address, 3 value)."""

    def __init__(self, fc: int, code: int, reason: str) -> None:
        self.fc = fc
        self.code = code
        super().__init__(f"FC{fc:02d}: exception {code}: {reason}")


ILLEGAL_FUNCTION = 1
ILLEGAL_ADDRESS = 2
ILLEGAL_VALUE = 3
GATEWAY_TARGET_FAILED = 0x0B


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _crc_table()


def crc16(data: bytes | bytearray) -> int:
    """Modbus CRC-16 (poly 0xA001 reflected, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ b) & 0xFF]
    return crc


# --- PDU ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadRequest:
    fc: int
    address: int
    count: int


def parse_read_request(pdu: bytes) -> ReadRequest:
    """A FC03/FC04 request PDU; anything else raises :class:`ModbusExceptionCode`."""
    if not pdu:
        raise ModbusFrameError("empty PDU")
    fc = pdu[0]
    if fc not in (3, 4):
        raise ModbusExceptionCode(fc & 0x7F, ILLEGAL_FUNCTION, "only FC03 and FC04 are served")
    if len(pdu) != 5:
        raise ModbusExceptionCode(fc, ILLEGAL_VALUE, f"request PDU of {len(pdu)} bytes")
    address, count = struct.unpack(">HH", pdu[1:5])
    if not 1 <= count <= 125:
        raise ModbusExceptionCode(fc, ILLEGAL_VALUE, f"count {count} not in 1..125")
    if address + count > 0x10000:
        raise ModbusExceptionCode(fc, ILLEGAL_ADDRESS, "beyond register 0xFFFF")
    return ReadRequest(fc, address, count)


def read_request_pdu(fc: int, address: int, count: int) -> bytes:
    return struct.pack(">BHH", fc, address, count)


def read_response_pdu(fc: int, words: list[int] | tuple[int, ...]) -> bytes:
    return struct.pack(f">BB{len(words)}H", fc, 2 * len(words), *words)


def exception_pdu(fc: int, code: int) -> bytes:
    return bytes((fc | 0x80, code))


def read_response_data(pdu: bytes, fc: int, count: int) -> bytes:
    """The register bytes of an answer ``pdu`` to a read of ``count`` registers by ``fc``.

    A refusal raises :class:`ModbusExceptionCode`; a PDU that does not fit the request raises
    :class:`ModbusFrameError`.
    """
    if len(pdu) == 2 and pdu[0] == fc | 0x80:
        raise ModbusExceptionCode(fc, pdu[1], "refused by the server")
    if len(pdu) != 2 + 2 * count or pdu[0] != fc or pdu[1] != 2 * count:
        raise ModbusFrameError(
            f"answer {pdu[:8].hex()} ({len(pdu)} bytes) does not fit FC{fc:02d} x{count}"
        )
    return pdu[2:]


# --- RTU ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RtuFrame:
    unit: int
    pdu: bytes

    @property
    def size(self) -> int:
        """Bytes on the wire."""
        return len(self.pdu) + 3


def rtu_frame(unit: int, pdu: bytes) -> bytes:
    body = bytes((unit,)) + pdu
    return body + crc16(body).to_bytes(2, "little")


def _request_length(buf: bytearray) -> int | None:
    """Length of the request frame starting at ``buf[0]``; ``None`` when more bytes are needed."""
    if len(buf) < 2:
        return None
    fc = buf[1]
    if 1 <= fc <= 6:
        return 8
    if fc in (15, 16):
        return 9 + buf[6] if len(buf) >= 7 else None
    if fc in (7, 11, 12, 17):
        return 4
    raise ModbusFrameError(f"unknown function code {fc:#04x}")


class RtuRequestDecoder:
    """Requests as a server (a meter) sees them on an RS-485 line."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    def gap(self) -> None:
        """The line was silent for 3.5 characters: a partial frame is abandoned."""
        self._buf.clear()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def next_frame(self) -> RtuFrame | None:
        buf = self._buf
        try:
            length = _request_length(buf)
        except ModbusFrameError:
            del buf[0]
            raise
        if length is None or len(buf) < length:
            return None
        frame = bytes(buf[:length])
        if crc16(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
            del buf[0]
            raise ModbusFrameError(f"CRC mismatch in {frame.hex()}")
        del buf[:length]
        return RtuFrame(frame[0], frame[1:-2])


class RtuAnswerDecoder:
    """The answer to one read request (``unit``, ``fc``, ``count``) in what the line delivers.

    Bytes before it — a late answer of another meter, line noise, a frame that fails its CRC —
    are skipped (counted in ``skipped`` and ``crc_errors``): the answer is the first frame from
    ``unit`` with the right function, length and CRC. :meth:`answer` returns its register bytes,
    ``None`` while more bytes are needed, and raises :class:`ModbusExceptionCode` when the meter
    refused the request.
    """

    def __init__(self, unit: int, fc: int, count: int) -> None:
        self._buf = bytearray()
        self._ok = bytes((unit, fc))
        self._refused = bytes((unit, fc | 0x80))
        self._fc = fc
        self._size = 5 + 2 * count
        self._byte_count = 2 * count
        self.skipped = 0
        self.crc_errors = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def pending(self) -> int:
        """Bytes held that may still become the answer."""
        return len(self._buf)

    def _skip(self, n: int) -> None:
        del self._buf[:n]
        self.skipped += n

    def answer(self) -> bytes | None:
        buf = self._buf
        while True:
            starts = [i for i in (buf.find(self._ok), buf.find(self._refused)) if i >= 0]
            if not starts:
                # the last byte may be the unit id of an answer still arriving
                self._skip(max(0, len(buf) - 1) if buf[-1:] == self._ok[:1] else len(buf))
                return None
            self._skip(min(starts))
            refused = buf[1] != self._fc
            size = 5 if refused else self._size
            if not refused and len(buf) >= 3 and buf[2] != self._byte_count:
                self._skip(1)
                continue
            if len(buf) < size:
                return None
            if crc16(buf[: size - 2]) != int.from_bytes(buf[size - 2 : size], "little"):
                self.crc_errors += 1
                self._skip(1)
                continue
            frame = bytes(buf[:size])
            del buf[:size]
            if refused:
                raise ModbusExceptionCode(self._fc, frame[2], "refused by the meter")
            return frame[3:-2]


# --- Modbus TCP -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MbapFrame:
    transaction: int
    unit: int
    pdu: bytes


def mbap_frame(transaction: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


class MbapDecoder:
    """Modbus TCP frames (MBAP header + PDU) from a byte stream."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes | bytearray) -> None:
        self._buf += data

    def next_frame(self) -> MbapFrame | None:
        buf = self._buf
        if len(buf) < 7:
            return None
        transaction, protocol, length, unit = struct.unpack(">HHHB", buf[:7])
        if protocol != 0 or not 2 <= length <= 254:
            buf.clear()
            raise ModbusFrameError(
                f"bad MBAP header (protocol {protocol}, length {length})", fatal=True
            )
        if len(buf) < 6 + length:
            return None
        pdu = bytes(buf[7 : 6 + length])
        del buf[: 6 + length]
        return MbapFrame(transaction, unit, pdu)
