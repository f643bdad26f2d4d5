"""Readings for tests, numbered so a set of them can be checked exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contract.mqtt import Reading

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def reading(k: int, *, meter: str = "m-1", quantity: str = "energy_import") -> Reading:
    """Reading number ``k``: its timestamp is BASE + k seconds, its value k / 4."""
    return Reading(
        meter_id=meter,
        quantity=quantity,
        value=k * 0.25,
        unit="kWh" if quantity.startswith("energy") else "V",
        ts=BASE + timedelta(seconds=k),
    )


def number(r: Reading) -> int:
    return int((r.ts - BASE).total_seconds())
