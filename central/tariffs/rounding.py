"""Rounding to whole units, the only place a Decimal becomes an int."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from central.tariffs.model import Rounding

_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
    "up": ROUND_CEILING,
}


def to_int(value: Decimal, rule: Rounding = "half_up") -> int:
    """Round ``value`` to an integer by ``rule`` (amounts are never negative here)."""
    return int(value.quantize(Decimal(1), rounding=_MODES[rule]))


def round_half_up(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> Decimal:
    """The same number without trailing zeros or an exponent: 53.800 → 53.8, 1.893E+3 → 1893."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()
