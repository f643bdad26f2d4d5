"""API keys for integrations: ``m2c_<prefix>_<secret>``, stored as a SHA-256 digest.

The whole key is shown once, when it is created; lists show its name and prefix only.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from central.auth.errors import AccountError
from central.auth.tokens import digest, new_secret
from central.auth.users import check_roles, format_roles
from central.db.models.auth import ApiKeyRow

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_KEY_LENGTH = 200
LAST_USED_STEP = timedelta(minutes=1)  # last_used_at is written at most this often
Clock = Callable[[], datetime]


def create(
    session: Session, name: str, roles: Iterable[str], *, clock: Clock
) -> tuple[ApiKeyRow, str]:
    """A new key: the row and the key itself (shown once, never stored)."""
    if not NAME.fullmatch(name):
        raise AccountError(
            f"key name {name!r}: 1-64 letters, digits or . _ -, starting with a letter or digit"
        )
    role_set = check_roles(roles)
    if session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.name == name)) is not None:
        raise AccountError(f"an API key named {name!r} exists already")
    prefix = secrets.token_hex(4)
    key = f"m2c_{prefix}_{new_secret()}"
    row = ApiKeyRow(
        name=name,
        prefix=prefix,
        key_hash=digest(key),
        roles=format_roles(role_set),
        created_at=clock(),
        revoked_at=None,
        last_used_at=None,
    )
    session.add(row)
    session.flush()
    return row, key


def all_keys(session: Session) -> Sequence[ApiKeyRow]:
    return session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.name)).all()


def revoke(session: Session, name_or_prefix: str, *, clock: Clock) -> ApiKeyRow:
    row = session.scalar(
        select(ApiKeyRow).where(
            (ApiKeyRow.name == name_or_prefix) | (ApiKeyRow.prefix == name_or_prefix)
        )
    )
    if row is None:
        raise AccountError(f"no API key named or prefixed {name_or_prefix!r}")
    if row.revoked_at is None:
        row.revoked_at = clock()
    return row


def lookup(session: Session, key: str, *, now: datetime) -> ApiKeyRow | None:
    """The live key ``key`` is, or None; notes when it was used (at most once a minute)."""
    if len(key) > MAX_KEY_LENGTH or not key.startswith("m2c_"):
        return None
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest(key)))
    if row is None or row.revoked_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_STEP:
        session.execute(update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(last_used_at=now))
        session.commit()
    return row
