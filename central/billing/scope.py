"""Who a run bills and with which values: the customers of a route or station as they were
on the period's first day, and the persons, households and tariff then in force (a change
carries ``effective_from``; one effective after that day bills from the next period)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    and_,
    cast,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from central.billing import compute
from central.db.models.records import CustomerChangeRow, CustomerRow, RouteRow


def _on_routes_then(routes: Select[int], day: date) -> ColumnElement[bool]:
    """Customers on one of ``routes`` on ``day``: on it now with no route change effective
    after that day, or moved off it by such a change (the first one's old value). Written so
    the route index finds the first kind and the few changed accounts the second."""
    cc = CustomerChangeRow
    later = (cc.field == "route_id", cc.effective_from > day)
    changed = exists().where(cc.customer_id == CustomerRow.id, *later).correlate(CustomerRow)
    earlier = aliased(CustomerChangeRow)
    first_of_them = ~exists().where(
        earlier.customer_id == cc.customer_id,
        earlier.field == "route_id",
        earlier.effective_from > day,
        or_(
            earlier.effective_from < cc.effective_from,
            and_(earlier.effective_from == cc.effective_from, earlier.id < cc.id),
        ),
    )
    as_text = select(cast(routes.subquery().c[0], String))
    moved_off = select(cc.customer_id).where(*later, cc.old_value.in_(as_text), first_of_them)
    return or_(and_(CustomerRow.route_id.in_(routes), ~changed), CustomerRow.id.in_(moved_off))


def scope(route_id: int | None, station_id: int | None, on: date) -> list[object]:
    """Active customers of the route or station they were on at ``on`` (the period's start)."""
    conds: list[object] = [CustomerRow.status == "active"]
    if route_id is not None:
        conds.append(_on_routes_then(select(RouteRow.id).where(RouteRow.id == route_id), on))
    if station_id is not None:
        routes = select(RouteRow.id).where(RouteRow.station_id == station_id)
        conds.append(_on_routes_then(routes, on))
    return conds


def in_force(conn: Connection, lo: int, hi: int, day: date) -> dict[int, dict[str, str | None]]:
    """Per customer, the billed fields changed with effect after ``day``: their value then."""
    out: dict[int, dict[str, str | None]] = defaultdict(dict)
    for cid, field, old in conn.execute(
        select(CustomerChangeRow.customer_id, CustomerChangeRow.field, CustomerChangeRow.old_value)
        .where(
            CustomerChangeRow.customer_id.between(lo, hi),
            CustomerChangeRow.field.in_(("persons", "households", "tariff_code")),
            CustomerChangeRow.effective_from > day,
        )
        .order_by(CustomerChangeRow.effective_from.desc(), CustomerChangeRow.id.desc())
    ):
        out[cid][field] = old  # the earliest change's old value is written last
    return out


def as_of(account: compute.Account, then: dict[str, str | None]) -> compute.Account:
    if not then:
        return account
    return compute.Account(
        account.customer_id,
        account.account_no,
        then.get("tariff_code") or account.tariff_code,
        int(then["persons"] or 0) if "persons" in then else account.persons,
        int(then["households"] or 1) if "households" in then else account.households,
    )
