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


@dataclass(frozen=True, slots=True)
class _Slot:
    quantity: str
    unit: str
    parts: tuple[tuple[int, int, struct.Struct, bool, bool, float], ...]


class BlockDecoder:
    """Decodes the answers to a fixed list of requests, with the work done once up front.

    ``decode(blocks)`` takes the answer to each request as bytes (its registers as big-endian
    words, as they come off the wire), in the order of ``requests`` (each a
    ``(fc, address, count)``), and returns ``(quantity, value, unit)`` triples.
    """

    def __init__(
        self, registers: Iterable[Register], requests: Sequence[tuple[int, int, int]]
    ) -> None:
        slots: list[_Slot] = []
        for reg in registers:
            parts = []
            for part in reg.parts:
                for i, (fc, address, count) in enumerate(requests):
                    if fc == reg.fc and address <= part.address and part.end <= address + count:
                        parts.append(
                            (
                                i,
                                2 * (part.address - address),
                                struct.Struct(">" + _FMT[part.type]),
                                part.word_order == "little",
                                part.byte_order == "little",
                                part.scale,
                            )
                        )
                        break
                else:
                    raise ValueError(f"{reg.quantity}: register {part.address:#06x} is not read")
            slots.append(_Slot(reg.quantity, reg.unit, tuple(parts)))
        self._slots = tuple(slots)
        self._sizes = tuple(2 * count for _, _, count in requests)
        # Parts in wire order (no swapping) are read with one struct per block, gaps padded:
        # one unpack call for a whole answer. The others are put together one by one.
        plain: list[list[tuple[int, struct.Struct, int, float]]] = [[] for _ in requests]
        self._swapped: list[tuple[int, tuple[int, int, struct.Struct, bool, bool, float]]] = []
        for k, slot in enumerate(slots):
            for layout_part in slot.parts:
                i, offset, fmt, swap_words, swap_bytes, scale = layout_part
                if swap_words or swap_bytes:
                    self._swapped.append((k, layout_part))
                else:
                    plain[i].append((offset, fmt, k, scale))
        self._plain: list[tuple[struct.Struct, tuple[tuple[int, float], ...]]] = []
        for i, parts_ in enumerate(plain):
            layout, targets, at = ">", [], 0
            for offset, fmt, k, scale in sorted(parts_, key=lambda p: p[0]):
                if offset < at:  # overlaps the part before: read it on its own
                    self._swapped.append((k, (i, offset, fmt, False, False, scale)))
                    continue
                layout += f"{offset - at}x" if offset > at else ""
                layout += fmt.format[1:]
                targets.append((k, scale))
                at = offset + fmt.size
            self._plain.append((struct.Struct(layout), tuple(targets)))

    def decode(
        self, blocks: Sequence[bytes]
    ) -> tuple[list[tuple[str, float, str]], list[DecodeError]]:
        if tuple(len(b) for b in blocks) != self._sizes:
            got = [len(b) for b in blocks]
            raise ValueError(f"answers of {got} bytes for requests of {list(self._sizes)}")
        totals = [0.0] * len(self._slots)
        for (layout, targets), block in zip(self._plain, blocks, strict=True):
            for (k, scale), value in zip(targets, layout.unpack_from(block), strict=True):
                totals[k] += value * scale
        for k, (i, offset, fmt, swap_words, swap_bytes, scale) in self._swapped:
            chunk = blocks[i][offset : offset + fmt.size]
            words = [chunk[n : n + 2] for n in range(0, len(chunk), 2)]
            if swap_words:
                words.reverse()
            if swap_bytes:
                words = [w[::-1] for w in words]
            totals[k] += fmt.unpack(b"".join(words))[0] * scale
        out: list[tuple[str, float, str]] = []
        errors: list[DecodeError] = []
        isfinite = math.isfinite
        for slot, total in zip(self._slots, totals, strict=True):
            if isfinite(total):
                out.append((slot.quantity, total, slot.unit))
            else:
                errors.append(DecodeError(slot.quantity, f"not a finite number ({total})"))
        return out, errors
