"""Constrained types for what callers send: bodies of REST requests, Excel rows, tariff files.

Each string is bounded by the column it ends in and carries no NUL or other control character
(a multi-line note may hold tab and line breaks); an id fits a signed 64-bit column; a count
asked for (``n``, ``limit``) has bounds; a number is finite. The bounds show in the OpenAPI
schema, so a client (or a fuzzer) sees what is accepted, and a value outside them is a 422
naming where it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

MAX_ID = 2**63 - 1  # BIGINT on PostgreSQL, INTEGER on SQLite

# One line: no C0 control character (NUL included) and no DEL. The same rule is the JSON-schema
# pattern clients and fuzzers see and the check pydantic makes.
LINE = r"^[^\x00-\x1f\x7f]*$"
# Several lines: tab, line feed and carriage return are allowed.
MULTILINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# A path segment: one line, no slash.
SEGMENT = r"^[^\x00-\x1f\x7f/]*$"


def _line(low: int, high: int) -> StringConstraints:
    return StringConstraints(min_length=low, max_length=high, pattern=LINE)


# Strings in bodies, named by the column length they end in.
Str32 = Annotated[str, _line(0, 32)]
Str64 = Annotated[str, _line(0, 64)]
Str100 = Annotated[str, _line(0, 100)]
Str200 = Annotated[str, _line(0, 200)]
Str300 = Annotated[str, _line(0, 300)]
Code = Annotated[str, _line(1, 32)]  # a code: station, route, tariff tax, account number
Key = Annotated[str, _line(1, 64)]  # a key: meter id, tariff code, contract number
Name = Annotated[str, _line(1, 200)]
Reason = Annotated[str, _line(3, 300)]
Note = Annotated[str, StringConstraints(max_length=4000, pattern=MULTILINE)]

# Numbers in bodies.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# A measured value (an index, a consumption): finite, not negative, below 10^12.
Measure = Annotated[float, Field(ge=0, lt=1e12, allow_inf_nan=False)]
# A quantity in a quote (consumption, a band): finite, not negative, at most 10^9.
Quantity = Annotated[Decimal, Field(ge=0, le=10**9, allow_inf_nan=False)]
# A price per unit in the tariff's currency: positive and bounded, so a quote of the largest
# quantity (10^9) still fits a 64-bit amount in minor units.
Price = Annotated[Decimal, Field(gt=0, le=10**6, allow_inf_nan=False, decimal_places=6)]
# An amount of money in minor units typed by a person (an adjustment).
Amount = Annotated[int, Field(ge=-(10**12), le=10**12)]

# Dates and times: within 1990..2200, so every conversion (to UTC, to a month, a year on) stays
# inside what ``datetime`` and the databases hold.
EARLIEST = date(1990, 1, 1)
LATEST = date(2200, 12, 31)


def _moment(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset")
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range") from exc
    if not EARLIEST <= utc.date() <= LATEST:
        raise ValueError(f"must lie between {EARLIEST} and {LATEST}")
    return value


Day = Annotated[date, Field(ge=EARLIEST, le=LATEST)]
# An aware timestamp (with its UTC offset) between 1990 and 2200.
Moment = Annotated[datetime, AfterValidator(_moment)]


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# A moment in an answer, always with its offset: SQLite gives back stored UTC times without one.
Instant = Annotated[datetime, AfterValidator(_as_utc)]
