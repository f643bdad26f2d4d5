"""Provider callbacks refused at the door, counted and kept with their reason."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from central.db.models.payments import PaymentRejectionRow
from central.payments.idempotency import writer

log = structlog.get_logger(__name__)


def reject(
    engine: Engine, channel: str, reason: str, detail: Mapping[str, Any] | str, *, now: datetime
) -> None:
    """Record a refusal; a database failure here is logged, never raised to the caller."""
    text = detail if isinstance(detail, str) else repr(dict(detail))
    log.warning("payments.rejected", channel=channel, reason=reason)
    try:
        with writer(engine) as session:
            session.add(
                PaymentRejectionRow(
                    channel=channel, reason=reason[:200], detail=text[:2000], received_at=now
                )
            )
            session.commit()
    except SQLAlchemyError:
        log.exception("payments.rejection_not_stored", channel=channel, reason=reason)


def counts(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            PaymentRejectionRow.channel,
            PaymentRejectionRow.reason,
            func.count(),
            func.max(PaymentRejectionRow.received_at),
        )
        .group_by(PaymentRejectionRow.channel, PaymentRejectionRow.reason)
        .order_by(PaymentRejectionRow.channel, PaymentRejectionRow.reason)
    ).all()
    return [{"channel": c, "reason": r, "count": n, "last": str(t)} for c, r, n, t in rows]
