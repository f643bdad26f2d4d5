"""OBIS codes of a readout → named quantities, numbers in our units, and the meter's clock.

Addresses come in several spellings: ``1.8.0``, ``1-0:1.8.0``, ``1-0:1.8.0*255``, ``1.8.0&01``
(a billing period). :func:`normalise` keeps the ``C.D.E`` part, and marks billing-period
values (``*VZ``/``&VZ`` other than 255) so that they are not taken for current values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from drivers.iec62056.datasets import DataSet
from drivers.iec62056.errors import RemoteProtocolError

_ADDRESS = re.compile(
    r"^(?:(?P<a>\d+)-(?P<b>\d+):)?(?P<cde>[0-9A-Za-z]+\.[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)?)"
    r"(?:[*&](?P<f>\d+))?$"
)

_NUMBER = re.compile(r"^[+-]?\d{1,20}(?:\.\d{1,20})?$")


@dataclass(frozen=True)
class Quantity:
    name: str
    unit: str  # our unit
    scale: dict[str, Decimal]  # meter unit (lowercase) → factor to ``unit``


_ENERGY = {"kwh": Decimal(1), "wh": Decimal("0.001"), "mwh": Decimal(1000)}
_REACTIVE = {"kvarh": Decimal(1), "varh": Decimal("0.001")}
_POWER = {"kw": Decimal(1), "w": Decimal("0.001"), "mw": Decimal(1000)}
_RPOWER = {"kvar": Decimal(1), "var": Decimal("0.001")}
_VOLT = {"v": Decimal(1), "kv": Decimal(1000)}
_AMP = {"a": Decimal(1)}
_HZ = {"hz": Decimal(1)}
_NONE = {"": Decimal(1)}


def _q(name: str, unit: str, scale: dict[str, Decimal]) -> Quantity:
    return Quantity(name, unit, scale)


# C.D.E → quantity. Energy in kWh, power in kW, as the Modbus meter models report them.
QUANTITIES: dict[str, Quantity] = {
    "1.8.0": _q("energy_import", "kWh", _ENERGY),
    "1.8.1": _q("energy_import_t1", "kWh", _ENERGY),
    "1.8.2": _q("energy_import_t2", "kWh", _ENERGY),
    "1.8.3": _q("energy_import_t3", "kWh", _ENERGY),
    "1.8.4": _q("energy_import_t4", "kWh", _ENERGY),
    "2.8.0": _q("energy_export", "kWh", _ENERGY),
    "2.8.1": _q("energy_export_t1", "kWh", _ENERGY),
    "2.8.2": _q("energy_export_t2", "kWh", _ENERGY),
    "3.8.0": _q("reactive_energy_import", "kvarh", _REACTIVE),
    "4.8.0": _q("reactive_energy_export", "kvarh", _REACTIVE),
    "15.8.0": _q("energy_absolute", "kWh", _ENERGY),
    "1.7.0": _q("power_import", "kW", _POWER),
    "2.7.0": _q("power_export", "kW", _POWER),
    "16.7.0": _q("power_active", "kW", _POWER),
    "3.7.0": _q("reactive_power_import", "kvar", _RPOWER),
    "1.6.0": _q("power_import_max", "kW", _POWER),
    "2.6.0": _q("power_export_max", "kW", _POWER),
    "32.7.0": _q("voltage_l1", "V", _VOLT),
    "52.7.0": _q("voltage_l2", "V", _VOLT),
    "72.7.0": _q("voltage_l3", "V", _VOLT),
    "31.7.0": _q("current_l1", "A", _AMP),
    "51.7.0": _q("current_l2", "A", _AMP),
    "71.7.0": _q("current_l3", "A", _AMP),
    "14.7.0": _q("frequency", "Hz", _HZ),
    "13.7.0": _q("power_factor", "", _NONE),
}
CLOCK_TIME = "0.9.1"
CLOCK_DATE = "0.9.2"
SERIAL_NUMBERS = ("0.0.0", "96.1.0", "C.1.0", "0.0.1")


@dataclass(frozen=True)
class ObisValue:
    quantity: str
    value: Decimal
    unit: str
    obis: str  # the address as the meter wrote it
    at: datetime | None = None  # meter-local time the value belongs to (a maximum's time)


def normalise(address: str) -> tuple[str, bool] | None:
    """(``C.D.E``, is-current) of an address; None for text that is not an OBIS address."""
    match = _ADDRESS.match(address)
    if match is None:
        return None
    cde = match["cde"]
    if cde.count(".") == 1:
        cde += ".0"
    vz = match["f"]
    return cde, vz is None or vz == "255"


def _number(dataset: DataSet) -> Decimal:
    text = dataset.first.text.strip()
    if not _NUMBER.match(text):
        raise RemoteProtocolError(
            f"{dataset.address} value {text!r} is not a number", where=f"data line {dataset.line}"
        )
    return Decimal(text)


def values(datasets: tuple[DataSet, ...]) -> list[ObisValue]:
    """Every current value whose OBIS code we know, converted to our units."""
    found: list[ObisValue] = []
    for dataset in datasets:
        key = normalise(dataset.address)
        if key is None or not key[1] or key[0] not in QUANTITIES or not dataset.values:
            continue
        quantity = QUANTITIES[key[0]]
        meter_unit = dataset.first.unit.lower()
        if meter_unit == "" and "" not in quantity.scale:
            factor = Decimal(1)  # no unit on the wire: assume the usual one
        elif meter_unit in quantity.scale:
            factor = quantity.scale[meter_unit]
        else:
            raise RemoteProtocolError(
                f"{dataset.address} in unexpected unit {dataset.first.unit!r}",
                where=f"data line {dataset.line}",
            )
        found.append(
            ObisValue(
                quantity.name,
                _number(dataset) * factor,
                quantity.unit,
                dataset.address,
                at=_value_time(dataset),
            )
        )
    return found


_STAMP = re.compile(r"^(\d{2})-?(\d{2})-?(\d{2})[ T]?(\d{2}):?(\d{2})(?::?(\d{2}))?$")


def _value_time(dataset: DataSet) -> datetime | None:
    """The time a value carries as its second field, ``YY-MM-DD hh:mm`` or ``YYMMDDhhmm``."""
    if len(dataset.values) < 2 or dataset.values[1].unit:
        return None
    match = _STAMP.match(dataset.values[1].text.strip())
    if match is None:
        return None  # some other second field (a count, a status): not a time
    yy, mo, dd, hh, mi, ss = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(2000 + yy, mo, dd, hh, mi, ss)
    except ValueError as exc:
        raise RemoteProtocolError(
            f"{dataset.address} time {dataset.values[1].text!r}: {exc}",
            where=f"data line {dataset.line}",
        ) from exc


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def parse_date(text: str) -> date:
    """``YYMMDD``, ``YY-MM-DD``, ``1YYMMDD`` (leading century digit) or ``YYYY-MM-DD``."""
    digits = _digits(text)
    if len(digits) == 7:
        digits = digits[1:]
    if len(digits) == 6:
        year, month, day = 2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:])
    elif len(digits) == 8:
        year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    else:
        raise ValueError(f"date {text!r}")
    return date(year, month, day)


def parse_time(text: str) -> time:
    """``hhmmss``, ``hh:mm:ss`` or ``hhmm``."""
    digits = _digits(text)
    if len(digits) == 4:
        digits += "00"
    if len(digits) != 6:
        raise ValueError(f"time {text!r}")
    return time(int(digits[:2]), int(digits[2:4]), int(digits[4:]))


def meter_clock(datasets: tuple[DataSet, ...]) -> datetime | None:
    """The meter's local date and time (naive) from 0.9.1 and 0.9.2, if it sent both."""
    found: dict[str, DataSet] = {}
    for dataset in datasets:
        key = normalise(dataset.address)
        if key is not None and key[0] in (CLOCK_TIME, CLOCK_DATE) and dataset.values:
            found[key[0]] = dataset
    if CLOCK_TIME not in found or CLOCK_DATE not in found:
        return None
    try:
        return datetime.combine(
            parse_date(found[CLOCK_DATE].first.text), parse_time(found[CLOCK_TIME].first.text)
        )
    except ValueError as exc:
        line = found[CLOCK_DATE].line
        raise RemoteProtocolError(f"meter clock unreadable: {exc}", where=f"line {line}") from exc


def serial_number(datasets: tuple[DataSet, ...]) -> str | None:
    for dataset in datasets:
        key = normalise(dataset.address)
        if key is not None and key[0] in SERIAL_NUMBERS and dataset.values:
            return dataset.first.text
    return None
