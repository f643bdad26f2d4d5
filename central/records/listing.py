"""Paging, filtering and sorting of lists: a page of rows and the total that matched.

A sort key is a column name, ``-name`` for descending; ties break on the row id so a page
boundary never repeats or loses a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from central.records.errors import Invalid

MAX_LIMIT = 1000
Sortable = ColumnElement[Any] | InstrumentedAttribute[Any]


@dataclass(frozen=True)
class PageQuery:
    limit: int = 50
    offset: int = 0
    sort: str = "id"

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise Invalid("limit", f"must be 1 to {MAX_LIMIT}")
        if self.offset < 0:
            raise Invalid("offset", "must not be negative")


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    total: int


def page(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    query: PageQuery,
    *,
    sorts: Mapping[str, Sortable],
    tie: Sortable,
) -> Page:
    """``stmt`` counted, then sorted by ``query.sort`` (one of ``sorts``) and cut to a page."""
    key = query.sort.removeprefix("-")
    if key not in sorts:
        raise Invalid("sort", f"{query.sort!r}: sort by one of {', '.join(sorted(sorts))}")
    column = sorts[key]
    order = column.desc() if query.sort.startswith("-") else column.asc()
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.execute(stmt.order_by(order, tie).limit(query.limit).offset(query.offset)).all()
    return Page([r[0] if len(r) == 1 else r for r in rows], int(total or 0))
