"""Constrained path and query parameters of the REST API (bodies use :mod:`central.types`).

Every id fits a signed 64-bit column, every string is bounded and has no control character or
slash, every count has bounds: a value outside them is a 422 naming the parameter.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path, Query

from central.types import EARLIEST, LATEST, LINE, MAX_ID, SEGMENT, Moment

# Path parameters.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
CodePath = Annotated[str, Path(min_length=1, max_length=32, pattern=SEGMENT)]
DayPath = Annotated[date, Path(ge=EARLIEST, le=LATEST)]  # a day the clock can hold
KeyPath = Annotated[str, Path(min_length=1, max_length=64, pattern=SEGMENT)]

# Query parameters.
CodeQuery = Annotated[str, Query(min_length=1, max_length=32, pattern=LINE)]
KeyQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=LINE)]
SearchQuery = Annotated[str, Query(min_length=1, max_length=100, pattern=LINE)]
FileNameQuery = Annotated[str, Query(min_length=1, max_length=200, pattern=LINE)]
MediaTypeQuery = Annotated[str | None, Query(min_length=3, max_length=100, pattern=LINE)]
DayQuery = Annotated[date, Query(ge=EARLIEST, le=LATEST)]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Last12 = Annotated[int, Query(ge=1, le=120)]  # ``n``: how many periods, bills, payments
MomentQuery = Annotated[Moment | None, Query()]  # an aware timestamp, 1990..2200
