"""Tariffs: versioned price structures and a pure engine that turns consumption into a quote.

Nothing here touches a database, a clock or a file except :mod:`central.tariffs.loader`, which
reads TOML. :func:`central.tariffs.engine.quote` is a pure function of a tariff and a usage.
"""

from central.tariffs.engine import quote
from central.tariffs.model import (
    Block,
    DatedRate,
    FlatCharge,
    Line,
    Quote,
    QuoteError,
    Tariff,
    TariffDataError,
    TariffError,
    TariffVersion,
    TaxLine,
    TaxRule,
    TieredCharge,
    TouCharge,
    Usage,
)

__all__ = [
    "Block",
    "DatedRate",
    "FlatCharge",
    "Line",
    "Quote",
    "QuoteError",
    "Tariff",
    "TariffDataError",
    "TariffError",
    "TariffVersion",
    "TaxLine",
    "TaxRule",
    "TieredCharge",
    "TouCharge",
    "Usage",
    "quote",
]
