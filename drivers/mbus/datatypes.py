"""EN 13757-3 data codings: integers, BCD, real, and the date types F (date-time) and G (date).

Every multi-byte value is least significant byte first.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import date, datetime

from drivers.mbus.errors import LocalProtocolError, RemoteProtocolError


def decode_int(data: bytes) -> int:
    return int.from_bytes(data, "little", signed=True)


def encode_int(value: int, size: int) -> bytes:
    try:
        return value.to_bytes(size, "little", signed=True)
    except OverflowError as exc:
        raise LocalProtocolError(f"{value} does not fit {size} bytes") from exc


def decode_bcd(data: bytes, *, where: str = "") -> int:
    """BCD digits, low byte first; a high nibble F in the last byte marks a negative number."""
    digits: list[int] = []
    negative = False
    for index, byte in enumerate(data):
        low, high = byte & 0x0F, byte >> 4
        if index == len(data) - 1 and high == 0x0F:
            negative, high = True, 0
        if low > 9 or high > 9:
            raise RemoteProtocolError(f"0x{byte:02x} is not a BCD byte", where=where)
        digits += [low, high]
    value = 0
    for digit in reversed(digits):
        value = value * 10 + digit
    return -value if negative else value


def encode_bcd(value: int, size: int) -> bytes:
    negative = value < 0
    magnitude = -value if negative else value
    max_digits = 2 * size - (1 if negative else 0)
    text = str(magnitude)
    if len(text) > max_digits:
        raise LocalProtocolError(f"{value} does not fit {size} BCD bytes")
    text = text.zfill(2 * size)
    out = bytearray()
    for i in range(size):
        pair = text[len(text) - 2 * i - 2 : len(text) - 2 * i]
        out.append((int(pair[0]) << 4) | int(pair[1]))
    if negative:
        out[-1] |= 0xF0
    return bytes(out)


def decode_real(data: bytes) -> float:
    value: float = struct.unpack("<f", data)[0]
    return value


def encode_real(value: float) -> bytes:
    return struct.pack("<f", value)


def _year(low3: int, high4: int) -> int:
    year = low3 | (high4 << 3)
    return 2000 + year if year <= 80 else 1900 + year


@dataclass(frozen=True)
class MeterDateTime:
    """A type F value: the meter's local time; ``summer`` is its DST flag."""

    value: datetime
    summer: bool = False


def decode_type_f(data: bytes, *, where: str = "") -> MeterDateTime | None:
    """Type F (4 bytes): minute, hour, day, month, year; None when the meter marks it invalid."""
    b0, b1, b2, b3 = data
    if b0 & 0x80:
        return None
    try:
        value = datetime(
            _year((b2 & 0xE0) >> 5, (b3 & 0xF0) >> 4), b3 & 0x0F, b2 & 0x1F, b1 & 0x1F, b0 & 0x3F
        )
    except ValueError as exc:
        raise RemoteProtocolError(f"type F date-time {data.hex()}: {exc}", where=where) from exc
    return MeterDateTime(value=value, summer=bool(b1 & 0x80))


def encode_type_f(value: datetime, *, summer: bool = False) -> bytes:
    year = value.year % 100
    return bytes(
        [
            value.minute & 0x3F,
            (value.hour & 0x1F) | (0x80 if summer else 0),
            (value.day & 0x1F) | ((year & 0x07) << 5),
            (value.month & 0x0F) | ((year >> 3) << 4),
        ]
    )


def decode_type_g(data: bytes, *, where: str = "") -> date | None:
    b0, b1 = data
    if b0 == 0xFF and b1 == 0xFF:
        return None
    try:
        return date(_year((b0 & 0xE0) >> 5, (b1 & 0xF0) >> 4), b1 & 0x0F, b0 & 0x1F)
    except ValueError as exc:
        raise RemoteProtocolError(f"type G date {data.hex()}: {exc}", where=where) from exc


def encode_type_g(value: date) -> bytes:
    year = value.year % 100
    return bytes(
        [(value.day & 0x1F) | ((year & 0x07) << 5), (value.month & 0x0F) | ((year >> 3) << 4)]
    )


def decode_manufacturer(data: bytes) -> str:
    code = int.from_bytes(data, "little")
    return "".join(chr(((code >> shift) & 0x1F) + 64) for shift in (10, 5, 0))


def encode_manufacturer(letters: str) -> bytes:
    if len(letters) != 3 or not all("A" <= ch <= "Z" for ch in letters):
        raise LocalProtocolError(f"manufacturer {letters!r} must be three capital letters")
    code = 0
    for ch in letters:
        code = (code << 5) | (ord(ch) - 64)
    return code.to_bytes(2, "little")
