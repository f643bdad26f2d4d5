"""Sequence gaps of one gateway channel (pure): which numbers are missing, which arrived late.

A gateway numbers each channel from 0, so a gateway seen for the first time at ``n > 0`` opens
the gap ``0 .. n-1`` (central missed its start, or was installed later). A number
above ``max + 1`` opens a gap ``max+1 .. n-1``; a number at or below ``max`` is either late
(it fills part of an open gap) or a redelivery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Advance:
    new_max: int | None
    opened: tuple[tuple[int, int], ...]
    late: tuple[int, ...]  # at or below the old maximum: fill a gap if one holds them


def advance(current_max: int | None, seqs: Iterable[int]) -> Advance:
    top = -1 if current_max is None else current_max
    opened: list[tuple[int, int]] = []
    late: list[int] = []
    for s in sorted(set(seqs)):
        if s == top + 1:
            top = s
        elif s > top + 1:
            opened.append((top + 1, s - 1))
            top = s
        else:
            late.append(s)
    return Advance(None if top < 0 else top, tuple(opened), tuple(late))


def fill(gap: tuple[int, int], s: int) -> list[tuple[int, int]]:
    """What remains of ``gap`` once ``s`` (inside it) has arrived: zero, one or two gaps."""
    first, last = gap
    if not first <= s <= last:
        raise ValueError(f"{s} is not inside gap {first}..{last}")
    return [g for g in ((first, s - 1), (s + 1, last)) if g[0] <= g[1]]
