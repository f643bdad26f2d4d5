"""From readings to a bill draft, for one account (pure; the run feeds it rows).

An index is the register's whole units (the integer part, as printed on a bill) times the
meter's multiplier. Consumption is closing − opening, with a register rollover at 10^digits
and a meter exchange inside the period (old meter to its final index, new meter from its
first) taken into account. A missing closing reading is estimated from the average daily use
of the readings before it, and the bill is marked estimated; when an actual reading after the
period exists, the closing index is prorated between the two good readings instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from math import isfinite

from central.tariffs import Usage, quote
from central.tariffs.catalog import Catalog
from central.tariffs.model import QuoteError
from central.vee.estimate import EstimateError, average_daily, from_average, prorate
from central.vee.rules import delta


@dataclass(frozen=True)
class Account:
    customer_id: int
    account_no: str
    tariff_code: str
    persons: int
    households: int


@dataclass(frozen=True)
class MeterSeries:
    """One meter's readings of the billed quantity, time-ordered ``(ts, value)``."""

    meter_id: str
    digits: int
    multiplier: int
    readings: Sequence[tuple[datetime, float]]


@dataclass(frozen=True)
class Exchange:
    at: datetime
    old_meter_id: str
    new_meter_id: str
    old_final: float
    new_initial: float


@dataclass(frozen=True)
class Chosen:
    """The meters that bill a period: one, or the old and new meter of an exchange inside
    it; or why none can (``problem``)."""

    meters: tuple[MeterSeries, ...] = ()
    exchange: Exchange | None = None
    problem: str = ""


# a period's consumption beyond this is a broken register or a typing error, not a bill
MAX_CONSUMPTION = 10**9
MAX_TOTAL = 10**15  # VND; far beyond any real bill, far below a BIGINT


@dataclass(frozen=True)
class Priced:
    lines_json: str
    subtotal: int
    tax_total: int
    total: int
    currency: str


@dataclass(frozen=True)
class Draft:
    account: Account
    meter_id: str
    previous_index: float
    current_index: float
    consumption: int
    estimated: bool
    flags: tuple[str, ...]
    priced: Priced


@dataclass(frozen=True)
class Skip:
    account: Account
    reason: str


class Pricer:
    """Quotes memoised by everything a quote depends on: a run prices the same few hundred
    (tariff, consumption, persons, households) combinations again and again."""

    def __init__(self, catalog: Catalog, start: date, end: date, *, size: int = 200_000) -> None:
        self.catalog = catalog
        self.start = start
        self.end = end
        self.price: Callable[[str, int, int, int, int], Priced] = lru_cache(maxsize=size)(
            self._price
        )

    def _price(self, code: str, used: int, persons: int, households: int, prior: int) -> Priced:
        q = quote(
            self.catalog[code],
            Usage(
                Decimal(used),
                self.start,
                self.end,
                households=households,
                persons=persons,
                prior_consumption=Decimal(prior),
            ),
        )
        lines = [
            {
                "kind": "charge",
                "description": ln.description,
                "quantity": str(ln.quantity),
                "unit_price": str(ln.unit_price),
                "amount": ln.amount,
            }
            for ln in q.lines
        ] + [
            {
                "kind": "tax",
                "code": t.code,
                "description": t.description,
                "base": t.base,
                "rate": str(t.rate),
                "amount": t.amount,
            }
            for t in q.taxes
        ]
        return Priced(
            json.dumps(lines, ensure_ascii=False), q.subtotal, q.tax_total, q.total, q.currency
        )


def whole(value: float, multiplier: int) -> int:
    return math.floor(value + 1e-9) * multiplier


def last_before(readings: Sequence[tuple[datetime, float]], bound: datetime) -> int | None:
    """Index of the last reading strictly before ``bound`` (readings are time-ordered)."""
    found = None
    for i, (ts, _v) in enumerate(readings):
        if ts < bound:
            found = i
        else:
            break
    return found


def draft(
    account: Account,
    meters: Sequence[MeterSeries],
    exchange: Exchange | None,
    *,
    opening_bound: datetime,
    closing_bound: datetime,
    pricer: Pricer,
    prior: int = 0,
) -> Draft | Skip:
    """Bill one account for the period whose readings fall before ``opening_bound`` (the end
    of the first day) and ``closing_bound`` (the end of the last day)."""
    try:
        return _draft(
            account,
            meters,
            exchange,
            opening_bound=opening_bound,
            closing_bound=closing_bound,
            pricer=pricer,
            prior=prior,
        )
    except (ArithmeticError, ValueError) as exc:  # an extreme value must not stop the run
        return Skip(account, f"cannot bill: {type(exc).__name__}: {exc}"[:200])


def _draft(
    account: Account,
    meters: Sequence[MeterSeries],
    exchange: Exchange | None,
    *,
    opening_bound: datetime,
    closing_bound: datetime,
    pricer: Pricer,
    prior: int,
) -> Draft | Skip:
    if account.tariff_code not in pricer.catalog:
        return Skip(account, f"unknown tariff {account.tariff_code!r}")
    for m in meters:
        for _ts, v in m.readings:
            if not isfinite(v):
                return Skip(account, f"meter {m.meter_id}: reading {v} is not a finite number")
    by_id = {m.meter_id: m for m in meters}
    if exchange is not None and exchange.old_meter_id in by_id and exchange.new_meter_id in by_id:
        first, last = by_id[exchange.old_meter_id], by_id[exchange.new_meter_id]
    elif meters:
        first = last = meters[-1]
    else:
        return Skip(account, "no reading")
    i_open = last_before(first.readings, opening_bound)
    if i_open is None:
        return Skip(account, "no opening reading")
    opening = first.readings[i_open][1]
    flags: list[str] = []
    i_close = last_before(last.readings, closing_bound)
    missing = i_close is None or (first is last and i_close == i_open)
    after = (i_close + 1) if i_close is not None else 0
    estimated = False
    if missing and first is last and after < len(last.readings):
        # an actual reading after the period: prorate between the two good readings
        try:
            closing = prorate(first.readings[i_open], last.readings[after], closing_bound).value
        except EstimateError:
            return Skip(account, "readings go backwards around the period end")
        flags.append("prorated")
    elif missing:
        estimated = True
        try:
            daily = average_daily(list(first.readings[: i_open + 1]))
            closing = from_average(first.readings[i_open], daily, closing_bound).value
        except EstimateError:
            return Skip(account, "no closing reading and no history to estimate from")
        flags.append("estimated")
    else:
        assert i_close is not None
        closing = last.readings[i_close][1]
    if first is last:
        used_raw, kind = delta(whole(opening, 1), whole(closing, 1), first.digits)
        used = int(used_raw) * first.multiplier
        if kind:
            flags.append(kind)
    else:
        assert exchange is not None
        a, k1 = delta(whole(opening, 1), whole(exchange.old_final, 1), first.digits)
        b, k2 = delta(whole(exchange.new_initial, 1), whole(closing, 1), last.digits)
        used = int(a) * first.multiplier + int(b) * last.multiplier
        flags.append("meter_exchanged")
        flags.extend(k for k in (k1, k2) if k)
    if used < 0 or "negative" in flags:
        return Skip(account, f"negative consumption {used}")
    if used > MAX_CONSUMPTION:
        return Skip(account, f"implausible consumption {used} (over {MAX_CONSUMPTION})")
    try:
        priced = pricer.price(account.tariff_code, used, account.persons, account.households, prior)
    except QuoteError as exc:
        return Skip(account, f"cannot price: {exc}")
    if priced.total > MAX_TOTAL:
        return Skip(account, f"implausible total {priced.total} (over {MAX_TOTAL})")
    return Draft(
        account,
        last.meter_id,
        float(whole(opening, 1)),
        float(whole(closing, 1)),
        used,
        estimated,
        tuple(flags),
        priced,
    )
