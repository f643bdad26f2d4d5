"""Document numbers people can read out on the phone: ``HS-2025-000123``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session


class Numbered(Protocol):
    id: int
    number: str


def placeholder() -> str:
    """A unique stand-in until the row has its id."""
    return f"new-{uuid.uuid4().hex[:24]}"


def assign(session: Session, row: Numbered, prefix: str, when: datetime) -> str:
    """Flush ``row`` for its id and give it its number (unique because the id is)."""
    session.flush()
    row.number = f"{prefix}-{when:%Y}-{row.id:06d}"
    session.flush()
    return row.number
