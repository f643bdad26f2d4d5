"""Tariff versions added by operators, kept in the database over the shipped files.

The engine stays pure: this module only reads and writes ``tariff_versions`` rows and merges
them into a :class:`~central.tariffs.catalog.Catalog`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import structlog
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.billing import TariffVersionRow
from central.tariffs.catalog import Catalog
from central.tariffs.model import TariffError, TariffVersion, TaxRule
from central.tariffs.schema import VersionIn, to_version

log = structlog.get_logger(__name__)


class UnknownTariff(TariffError):
    """No tariff has this code."""


class VersionExists(TariffError):
    """A version with this effective date exists: versions are never overwritten."""


def catalog(session: Session, files: Catalog) -> Catalog:
    """The shipped tariffs with every version added over REST, in date order.

    A stored version that today's rules refuse (a price of 0 or 1e30 stored before prices
    were bounded) is left out and logged: one bad row never makes every quote fail.
    """
    rows = session.scalars(select(TariffVersionRow).order_by(TariffVersionRow.effective_from))
    merged = files
    for row in rows:
        if row.tariff_code not in merged:
            continue
        tariff = merged[row.tariff_code]
        inherited = _taxes_before(tariff.versions, row.effective_from)
        try:
            version = to_version(VersionIn.model_validate_json(row.body), inherited)
        except (ValidationError, TariffError) as exc:
            log.warning(
                "stored tariff version refused",
                tariff=row.tariff_code,
                effective_from=row.effective_from.isoformat(),
                error=str(exc)[:300],
            )
            continue
        merged = merged.with_version(row.tariff_code, version)
    return merged


def _taxes_before(versions: tuple[TariffVersion, ...], day: date) -> tuple[TaxRule, ...]:
    taxes: tuple[TaxRule, ...] = ()
    for v in versions:
        if v.effective_from <= day:
            taxes = v.taxes
    return taxes


def add_version(
    session: Session,
    files: Catalog,
    code: str,
    body: VersionIn,
    *,
    by: str,
    clock: Callable[[], datetime],
) -> TariffVersion:
    """Validate and store a new version of ``code``; taxes default to the previous version's."""
    current = catalog(session, files)
    if code not in current:
        raise UnknownTariff(f"no tariff {code!r}")
    tariff = current[code]
    if any(v.effective_from == body.effective_from for v in tariff.versions):
        raise VersionExists(
            f"tariff {code!r} already has a version from {body.effective_from.isoformat()}"
        )
    version = to_version(
        body, _taxes_before(tariff.versions, body.effective_from)
    )  # raises TariffDataError on inconsistent data
    session.add(
        TariffVersionRow(
            tariff_code=code,
            effective_from=body.effective_from,
            body=body.model_dump_json(by_alias=True),
            created_by=by,
            created_at=clock(),
        )
    )
    session.commit()
    return version
