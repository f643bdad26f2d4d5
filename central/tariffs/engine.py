"""The pure tariff engine: ``quote(tariff, usage) -> Quote``.

Steps, each a rule from the decisions (REFERENCE §4):

1. The versions in force during the period are found by date. A version that starts inside the
   period splits it (EVN): with S the consumption, T the days of the period and Nc the days from
   the previous reading to the change date, the old-price quantity is round_half_up(S / T × Nc)
   and the new-price quantity is the rest. More than one change splits the same way, in order.
2. Each part is priced by its version's charge. Tiered widths are multiplied by the households
   (EVN) or registered persons (HCMC water) and, when the charge prorates, become
   round_half_up(width × scale × N / Tm) with N the part's days and Tm the days of the calendar
   month before the reading date.
3. Each line is rounded once, to the minor unit, by the version's rule.
4. Taxes and fees follow in order, each on its base (the subtotal and/or earlier tax lines) at
   the rate in force on the reading date, each rounded once.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from central.tariffs.model import (
    Currency,
    FlatCharge,
    Line,
    Quote,
    QuoteError,
    Rounding,
    Tariff,
    TariffVersion,
    TaxLine,
    TieredCharge,
    TouCharge,
    Usage,
)
from central.tariffs.rounding import plain, round_half_up, to_int

ZERO = Decimal(0)


@dataclass(frozen=True)
class Segment:
    """A part of the period priced by one version."""

    version: TariffVersion
    start: date
    end: date
    quantity: Decimal
    bands: dict[str, Decimal]

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def days_of_month_before(day: date) -> int:
    """T in the EVN rule: the days of the calendar month before the reading date's month."""
    prev = day.replace(day=1) - timedelta(days=1)
    return calendar.monthrange(prev.year, prev.month)[1]


def quote(tariff: Tariff, usage: Usage) -> Quote:
    _check(usage)
    segments = split(tariff, usage)
    lines: list[Line] = []
    position = usage.prior_consumption
    tagged = len(segments) > 1
    given: list[Decimal] = []  # allowance already given to earlier parts, per block
    for seg in segments:
        tag = f" (from {seg.version.effective_from.isoformat()})" if tagged else ""
        lines.extend(_charge_lines(tariff, seg, usage, position, tag, given))
        position += seg.quantity
    last = segments[-1].version
    taxes = _taxes(last, sum((ln.amount for ln in lines), 0), usage.period_end)
    return Quote(tariff.code, tariff.currency.code, tuple(lines), tuple(taxes))


def _check(usage: Usage) -> None:
    if usage.period_end <= usage.period_start:
        raise QuoteError(
            f"period_end {usage.period_end.isoformat()} must be after "
            f"period_start {usage.period_start.isoformat()}"
        )
    if usage.consumption < 0:
        raise QuoteError(f"consumption {usage.consumption} is negative")
    if usage.households < 1:
        raise QuoteError(f"households {usage.households} must be at least 1")
    if usage.persons is not None and usage.persons < 0:
        raise QuoteError(f"persons {usage.persons} must not be negative")
    if usage.prior_consumption < 0:
        raise QuoteError("prior_consumption must not be negative")
    for band, q in usage.bands.items():
        if q < 0:
            raise QuoteError(f"band {band!r} consumption {q} is negative")


def split(tariff: Tariff, usage: Usage) -> list[Segment]:
    """Cut the period at every version change inside it and share the consumption by days."""
    first = tariff.version_on(usage.period_start)
    cuts = [(usage.period_start, first)]
    for v in tariff.versions:
        if usage.period_start < v.effective_from < usage.period_end:
            cuts.append((v.effective_from, v))
    total_days = (usage.period_end - usage.period_start).days
    bounds = [c[0] for c in cuts] + [usage.period_end]
    segments: list[Segment] = []
    left = usage.consumption
    left_bands = dict(usage.bands)
    for i, (start, version) in enumerate(cuts):
        end = bounds[i + 1]
        if i == len(cuts) - 1:
            qty, bands = left, left_bands
        else:
            days = (end - start).days
            qty = min(left, round_half_up(usage.consumption * days / total_days))
            bands = {
                b: min(left_bands[b], round_half_up(q * days / total_days))
                for b, q in usage.bands.items()
            }
            left -= qty
            left_bands = {b: left_bands[b] - bands[b] for b in left_bands}
        segments.append(Segment(version, start, end, qty, bands))
    return segments


def _charge_lines(
    tariff: Tariff, seg: Segment, usage: Usage, position: Decimal, tag: str, given: list[Decimal]
) -> list[Line]:
    charge = seg.version.charge
    cur = tariff.currency
    rule = seg.version.rounding
    if isinstance(charge, FlatCharge):
        label = charge.label or f"flat price per {tariff.unit}"
        return [_line(f"{label}{tag}", seg.quantity, charge.price, cur, rule)]
    if isinstance(charge, TouCharge):
        unknown = set(seg.bands) - set(charge.prices)
        if unknown:
            raise QuoteError(f"tariff {tariff.code!r} has no band {sorted(unknown)[0]!r}")
        if seg.quantity and not seg.bands:
            raise QuoteError(f"tariff {tariff.code!r} is time-of-use: give consumption by band")
        banded = sum(seg.bands.values(), ZERO)
        if banded != seg.quantity:
            raise QuoteError(f"bands add up to {banded}, consumption is {seg.quantity}")
        return [
            _line(f"{band}{tag}", seg.bands.get(band, ZERO), price, cur, rule)
            for band, price in charge.prices.items()
            if seg.bands.get(band, ZERO) > 0
        ]
    return _tiered(
        tariff, charge, seg, usage, position if charge.accumulate == "annual" else ZERO, tag, given
    )


def _tiered(
    tariff: Tariff,
    charge: TieredCharge,
    seg: Segment,
    usage: Usage,
    position: Decimal,
    tag: str,
    given: list[Decimal],
) -> list[Line]:
    widths = block_widths(tariff, charge, usage, seg.days)
    total_days = (usage.period_end - usage.period_start).days
    if not charge.prorate and charge.accumulate == "monthly" and seg.days < total_days:
        widths = _shared(widths, seg, usage, given)
    lines: list[Line] = []
    lower = ZERO
    remaining_from = position
    end = position + seg.quantity
    for block, width in zip(charge.blocks, widths, strict=True):
        upper = None if width is None else lower + width
        take_from = max(remaining_from, lower)
        take_to = end if upper is None else min(end, upper)
        qty = take_to - take_from
        if qty > 0:
            label = block.label or _range_label(lower, upper, tariff.unit)
            lines.append(
                _line(f"{label}{tag}", qty, block.price, tariff.currency, seg.version.rounding)
            )
        if upper is not None:
            lower = upper
    return lines


def _shared(
    widths: list[Decimal | None], seg: Segment, usage: Usage, given: list[Decimal]
) -> list[Decimal | None]:
    """A period's allowance (a width × persons or households) shared between the parts a
    price change cuts it into, by days: round_half_up(width × N / T) for each part but the
    last, which takes what is left, so the parts never add up to more than the whole."""
    last = seg.end == usage.period_end
    total_days = (usage.period_end - usage.period_start).days
    out: list[Decimal | None] = []
    for i, width in enumerate(widths):
        if width is None:
            out.append(None)
            continue
        if len(given) <= i:
            given.append(ZERO)
        part = width - given[i] if last else round_half_up(width * seg.days / total_days)
        part = max(ZERO, min(part, width - given[i]))
        given[i] += part
        out.append(part)
    return out


def block_widths(
    tariff: Tariff, charge: TieredCharge, usage: Usage, days: int
) -> list[Decimal | None]:
    """Block widths for this usage: scaled by households/persons, prorated by days (EVN)."""
    if charge.scale == "households":
        factor = Decimal(usage.households)
    elif charge.scale == "persons":
        if usage.persons is None:
            raise QuoteError(f"tariff {tariff.code!r} prices by registered persons: give persons")
        factor = Decimal(usage.persons)
    else:
        factor = Decimal(1)
    month = days_of_month_before(usage.period_end)
    widths: list[Decimal | None] = []
    for block in charge.blocks:
        if block.width is None:
            widths.append(None)
        elif charge.prorate:
            widths.append(round_half_up(block.width * factor * days / month))
        else:
            widths.append(block.width * factor)
    return widths


def _range_label(lower: Decimal, upper: Decimal | None, unit: str) -> str:
    lo = _fmt(lower)
    if upper is None:
        return f"above {lo} {unit}"
    return f"{lo}–{_fmt(upper)} {unit}"


def _fmt(q: Decimal) -> str:
    return str(plain(q))


def _line(desc: str, qty: Decimal, price: Decimal, cur: Currency, rule: Rounding) -> Line:
    unit_minor = plain(price * cur.minor_per_major)
    return Line(desc, plain(qty), unit_minor, to_int(qty * unit_minor, rule))


def _taxes(version: TariffVersion, subtotal: int, day: date) -> list[TaxLine]:
    amounts: dict[str, int] = {"subtotal": subtotal}
    lines: list[TaxLine] = []
    for tax in version.taxes:
        base = sum(amounts[item] for item in tax.base)
        rate = tax.rate_on(day)
        amount = to_int(base * rate, tax.rounding)
        amounts[tax.code] = amount
        lines.append(TaxLine(tax.code, tax.description, base, rate, amount))
    return lines
