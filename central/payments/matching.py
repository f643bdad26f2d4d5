"""Reconciliation's core, with no database: a provider's lines against recorded payments.

* matched: same reference and amount;
* suggested: same reference with another amount, or — for what is left — an amount within
  ``tolerance`` and a date within ``window`` days (closest amount, then date);
* duplicates: a reference the provider lists twice (the second and later lines);
* unmatched on either side: lines without a payment, payments without a line.

Linear in the number of items plus a sort of what is left: a million lines against a million
payments is a few seconds.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple


class Item(NamedTuple):
    """One side's entry. Any sequence ``(key, ref, amount, day)`` will do (database rows)."""

    key: int  # row id
    ref: str
    amount: int
    day: date


Entry = Sequence[Any]  # an Item or a database row with the same four columns


@dataclass
class Result:
    matched: list[tuple[Entry, Entry]] = field(default_factory=list)
    suggested: list[tuple[Entry, Entry, str]] = field(default_factory=list)
    duplicates: list[Entry] = field(default_factory=list)
    lines_only: list[Entry] = field(default_factory=list)
    payments_only: list[Entry] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "matched": len(self.matched),
            "suggested": len(self.suggested),
            "duplicates": len(self.duplicates),
            "lines_without_payment": len(self.lines_only),
            "payments_without_line": len(self.payments_only),
            "matched_amount": sum(p[2] for _, p in self.matched),
        }


def reconcile(
    lines: Iterable[Entry], payments: Iterable[Entry], *, tolerance: int = 0, window: int = 2
) -> Result:
    out = Result()
    by_ref: dict[str, Entry] = {}
    for p in payments:
        if p[1] not in by_ref:
            by_ref[p[1]] = p
    seen: set[str] = set()
    rest: list[Entry] = []
    matched, suggested = out.matched, out.suggested
    for line in lines:
        ref = line[1]
        if ref in seen:
            out.duplicates.append(line)
            continue
        seen.add(ref)
        hit = by_ref.pop(ref, None)
        if hit is None:
            rest.append(line)
        elif hit[2] == line[2]:
            matched.append((line, hit))
        else:
            suggested.append((line, hit, f"amount {line[2]} ≠ recorded {hit[2]}"))
    left = sorted(by_ref.values(), key=lambda p: p[2])
    amounts = [p[2] for p in left]
    taken = [False] * len(left)
    for line in rest:
        best: tuple[int, int, int] | None = None
        i = bisect.bisect_left(amounts, line[2] - tolerance)
        while i < len(left) and amounts[i] <= line[2] + tolerance:
            if not taken[i]:
                days = abs((left[i][3] - line[3]).days)
                if days <= window:
                    score = (abs(amounts[i] - line[2]), days, i)
                    best = score if best is None or score < best else best
            i += 1
            if best is not None and best[0] == 0 and best[1] == 0:
                break
        if best is None:
            out.lines_only.append(line)
        else:
            taken[best[2]] = True
            p = left[best[2]]
            why = f"reference {line[1]!r} ≠ {p[1]!r}; amount and date close"
            suggested.append((line, p, why))
    out.payments_only = [p for i, p in enumerate(left) if not taken[i]]
    return out
