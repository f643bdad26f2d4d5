"""Data sets of a mode C data block: ``address(value*unit)(value)...``, one or more per line.

``1.8.0(012345.678*kWh)`` is one value with a unit; ``1.6.0(00.512*kW)(24-01-15 10:30)`` is a
maximum demand with the time it happened; ``0.9.1(143015)`` is the meter's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.iec62056.errors import RemoteProtocolError

MAX_ADDRESS = 16
MAX_VALUE = 128
MAX_UNIT = 16
_FORBIDDEN = frozenset("()/!")


@dataclass(frozen=True)
class Value:
    text: str
    unit: str = ""


@dataclass(frozen=True)
class DataSet:
    address: str
    values: tuple[Value, ...]
    line: int = 0  # 1-based line of the data block it came from

    @property
    def first(self) -> Value:
        return self.values[0]


def _printable(text: str, what: str, where: str) -> str:
    if not text.isprintable() or not text.isascii():
        raise RemoteProtocolError(f"{what} {text!r} has unprintable characters", where=where)
    return text


def parse_line(line: str, number: int) -> list[DataSet]:
    """Every data set on one line (without its CR LF)."""
    where = f"data line {number}"
    sets: list[DataSet] = []
    pos = 0
    while pos < len(line):
        open_at = line.find("(", pos)
        if open_at < 0:
            raise RemoteProtocolError(f"{line[pos:]!r} has no '(' value", where=where)
        address = _printable(line[pos:open_at], "address", where)
        if len(address) > MAX_ADDRESS or _FORBIDDEN & set(address):
            raise RemoteProtocolError(f"bad address {address!r}", where=where)
        values: list[Value] = []
        pos = open_at
        while pos < len(line) and line[pos] == "(":
            close_at = line.find(")", pos)
            if close_at < 0:
                raise RemoteProtocolError("value without ')'", where=where)
            inner = _printable(line[pos + 1 : close_at], "value", where)
            if "(" in inner or "/" in inner or "!" in inner:
                raise RemoteProtocolError(f"bad value {inner!r}", where=where)
            text, star, unit = inner.partition("*")
            if len(text) > MAX_VALUE or len(unit) > MAX_UNIT or (star and not unit):
                raise RemoteProtocolError(f"bad value or unit {inner!r}", where=where)
            if "*" in unit:
                raise RemoteProtocolError(f"two units in {inner!r}", where=where)
            values.append(Value(text=text, unit=unit))
            pos = close_at + 1
        sets.append(DataSet(address=address, values=tuple(values), line=number))
    return sets


def parse_block_text(text: str) -> tuple[DataSet, ...]:
    """Every data set of a block's text (between STX and the closing ``!``)."""
    if text and not text.endswith("\r\n"):
        raise RemoteProtocolError("the last data line does not end with CR LF", where="data block")
    sets: list[DataSet] = []
    for number, line in enumerate(text.split("\r\n")[:-1], start=1):
        if line:
            sets.extend(parse_line(line, number))
    return tuple(sets)


def format_dataset(dataset: DataSet) -> str:
    """The text of one data set, the inverse of :func:`parse_line` for a single set."""
    parts = [dataset.address]
    for value in dataset.values:
        parts.append(f"({value.text}*{value.unit})" if value.unit else f"({value.text})")
    return "".join(parts)


def format_lines(datasets: tuple[DataSet, ...] | list[DataSet]) -> str:
    """One data set per line, each ending CR LF: the ``text`` of a data block."""
    return "".join(format_dataset(d) + "\r\n" for d in datasets)
