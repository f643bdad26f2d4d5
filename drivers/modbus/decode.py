"""Registers to values and back (sans-IO).

``decode(model_registers, words)`` turns the 16-bit words a meter answered into numbers; a
simulator uses :func:`encode_part` for the opposite direction. Byte order is the order of the two
bytes inside one register; word order is the order of the registers of one value.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from drivers.modbus.types import Part, Register


class DecodeError(Exception):
    """A register's words do not make a usable value. ``quantity`` names it."""

    def __init__(self, quantity: str, reason: str) -> None:
        self.quantity = quantity
        self.reason = reason
        super().__init__(f"{quantity}: {reason}")


_FMT = {
    "u16": "H",
    "s16": "h",
    "u32": "I",
    "s32": "i",
    "u64": "Q",
    "s64": "q",
    "f32": "f",
    "f64": "d",
}


@dataclass(frozen=True, slots=True)
class Value:
    quantity: str
    value: float
    unit: str


def _to_bytes(part: Part, words: Sequence[int]) -> bytes:
    ordered = list(words) if part.word_order == "big" else list(reversed(words))
    endian = part.byte_order
    return b"".join(w.to_bytes(2, endian) for w in ordered)


def decode_part(part: Part, words: Sequence[int]) -> float:
    """The scaled number stored in ``words`` (exactly ``part.width`` of them)."""
    if len(words) != part.width:
        raise ValueError(f"{part.type} needs {part.width} registers, got {len(words)}")
    raw = struct.unpack(">" + _FMT[part.type], _to_bytes(part, words))[0]
    return float(raw) * part.scale if part.scale != 1.0 else float(raw)


def encode_part(part: Part, value: float) -> tuple[int, ...]:
    """The words a meter holds for ``value`` (before scaling: ``value / scale`` is stored)."""
    raw = value / part.scale
    if part.type[0] == "f":
        data = struct.pack(">" + _FMT[part.type], raw)
    else:
        bits = 16 * part.width
        n = round(raw)
        if part.type[0] == "u":
            n %= 1 << bits
        else:
            n = ((n + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1))
        data = struct.pack(">" + _FMT[part.type], n)
    endian = part.byte_order
    words = [int.from_bytes(data[i : i + 2], endian) for i in range(0, len(data), 2)]
    if part.word_order == "little":
        words.reverse()
    return tuple(words)


def decode_register(reg: Register, words: Mapping[tuple[int, int], int]) -> Value:
    """The value of ``reg`` from ``words`` keyed by (function code, address)."""
    total = 0.0
    for part in reg.parts:
        try:
            chunk = [words[(reg.fc, a)] for a in range(part.address, part.end)]
        except KeyError as exc:
            raise DecodeError(reg.quantity, f"register {exc.args[0][1]:#06x} was not read") from exc
        total += decode_part(part, chunk)
    if not math.isfinite(total):
        raise DecodeError(reg.quantity, f"not a finite number ({total})")
    return Value(reg.quantity, total, reg.unit)


def decode(
    registers: Iterable[Register], words: Mapping[tuple[int, int], int]
) -> tuple[list[Value], list[DecodeError]]:
    """Every register's value; registers that cannot be decoded are returned as errors."""
    values: list[Value] = []
    errors: list[DecodeError] = []
    for reg in registers:
        try:
            values.append(decode_register(reg, words))
        except DecodeError as exc:
            errors.append(exc)
    return values, errors


def words_of(fc: int, address: int, registers: Sequence[int]) -> dict[tuple[int, int], int]:
    """Key a block of answered registers by (function code, address)."""
    return {(fc, address + i): w for i, w in enumerate(registers)}
