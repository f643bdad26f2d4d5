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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Item:
    key: int  # row id
    ref: str
    amount: int
    day: date


@dataclass
class Result:
    matched: list[tuple[Item, Item]] = field(default_factory=list)
    suggested: list[tuple[Item, Item, str]] = field(default_factory=list)
    duplicates: list[Item] = field(default_factory=list)
    lines_only: list[Item] = field(default_factory=list)
    payments_only: list[Item] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "matched": len(self.matched),
            "suggested": len(self.suggested),
            "duplicates": len(self.duplicates),
            "lines_without_payment": len(self.lines_only),
            "payments_without_line": len(self.payments_only),
            "matched_amount": sum(p.amount for _, p in self.matched),
        }


def reconcile(
    lines: Sequence[Item], payments: Sequence[Item], *, tolerance: int = 0, window: int = 2
) -> Result:
    out = Result()
    by_ref: dict[str, Item] = {}
    for p in payments:
        by_ref.setdefault(p.ref, p)
    seen: set[str] = set()
    used: set[int] = set()
    rest: list[Item] = []
    for line in lines:
        if line.ref in seen:
            out.duplicates.append(line)
            continue
        seen.add(line.ref)
        hit = by_ref.get(line.ref)
        if hit is None or hit.key in used:
            rest.append(line)
        elif hit.amount == line.amount:
            out.matched.append((line, hit))
            used.add(hit.key)
        else:
            out.suggested.append((line, hit, f"amount {line.amount} ≠ recorded {hit.amount}"))
            used.add(hit.key)
    left = sorted((p for p in payments if p.key not in used), key=lambda p: p.amount)
    amounts = [p.amount for p in left]
    taken = [False] * len(left)
    for line in rest:
        best: tuple[int, int, int] | None = None
        i = bisect.bisect_left(amounts, line.amount - tolerance)
        while i < len(left) and amounts[i] <= line.amount + tolerance:
            if not taken[i]:
                days = abs((left[i].day - line.day).days)
                if days <= window:
                    score = (abs(amounts[i] - line.amount), days, i)
                    best = score if best is None or score < best else best
            i += 1
            if best is not None and best[0] == 0 and best[1] == 0:
                break
        if best is None:
            out.lines_only.append(line)
        else:
            taken[best[2]] = True
            p = left[best[2]]
            out.suggested.append(
                (line, p, f"reference {line.ref!r} ≠ {p.ref!r}; amount and date close")
            )
    out.payments_only = [p for i, p in enumerate(left) if not taken[i]]
    return out
