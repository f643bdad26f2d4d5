"""Logging in with a password (with lockout), and refresh tokens that rotate on use.

Failed logins are counted on the user's row, so every API worker sees the same count; after
``max_failed_logins`` in a row the account is locked for ``lockout_minutes``. A name that is
not a user gets the same answers, from a bounded in-process table, after the same argon2 work.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from central.auth import passwords
from central.auth.errors import Locked, Unauthenticated
from central.auth.tokens import digest, new_secret
from central.db.models.auth import RefreshTokenRow, UserRow
from central.settings import AuthSettings

BAD_LOGIN = "incorrect login or password"


class UnknownNames:
    """Failed-login counts of names that are not users, so they lock out like real ones."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._rows: OrderedDict[str, tuple[int, datetime | None]] = OrderedDict()
        self._lock = threading.Lock()

    def locked_until(self, name: str, now: datetime) -> datetime | None:
        with self._lock:
            _count, until = self._rows.get(name, (0, None))
        return until if until is not None and until > now else None

    def failed(self, name: str, now: datetime, settings: AuthSettings) -> None:
        with self._lock:
            count, _until = self._rows.pop(name, (0, None))
            count += 1
            until = None
            if count >= settings.max_failed_logins:
                count, until = 0, now + timedelta(minutes=settings.lockout_minutes)
            self._rows[name] = (count, until)
            while len(self._rows) > self._capacity:
                self._rows.popitem(last=False)


def authenticate(
    session: Session,
    login: str,
    password: str,
    *,
    now: datetime,
    settings: AuthSettings,
    unknown: UnknownNames,
) -> UserRow:
    """The user ``login`` if ``password`` is theirs; else :class:`Unauthenticated` (or
    :class:`Locked` while locked out). Commits the failure count."""
    user = session.scalar(select(UserRow).where(UserRow.login == login)) if login else None
    if user is None:
        passwords.waste()
        until = unknown.locked_until(login, now)
        if until is not None:
            raise Locked(until)
        unknown.failed(login, now, settings)
        raise Unauthenticated(BAD_LOGIN)
    if user.locked_until is not None and user.locked_until > now:
        passwords.waste()
        raise Locked(user.locked_until)
    if not passwords.verify(user.password_hash, password) or user.disabled:
        _failed(session, user, now, settings)
        raise Unauthenticated(BAD_LOGIN)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.commit()
    return user


def _failed(session: Session, user: UserRow, now: datetime, settings: AuthSettings) -> None:
    # One UPDATE, so concurrent failures on several workers are all counted.
    session.execute(
        update(UserRow).where(UserRow.id == user.id).values(failed_logins=UserRow.failed_logins + 1)
    )
    session.refresh(user)
    if user.failed_logins >= settings.max_failed_logins:
        user.failed_logins = 0
        user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
    session.commit()


def issue_refresh(
    session: Session, user_id: int, *, now: datetime, ttl: timedelta, family: str | None = None
) -> str:
    token = new_secret()
    session.add(
        RefreshTokenRow(
            user_id=user_id,
            token_hash=digest(token),
            family=family or uuid.uuid4().hex,
            issued_at=now,
            expires_at=now + ttl,
            used_at=None,
            revoked_at=None,
        )
    )
    session.flush()
    return token


def rotate(session: Session, token: str, *, now: datetime, ttl: timedelta) -> tuple[UserRow, str]:
    """Spend ``token`` for its successor. A token used twice revokes its whole family."""
    row = session.scalar(select(RefreshTokenRow).where(RefreshTokenRow.token_hash == digest(token)))
    if row is None:
        raise Unauthenticated("unknown refresh token")
    if row.revoked_at is not None:
        raise Unauthenticated("refresh token revoked")
    if row.expires_at <= now:
        raise Unauthenticated("refresh token expired")
    spent = session.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.id == row.id, RefreshTokenRow.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        revoke_family(session, row.family, now=now)
        session.commit()
        raise Unauthenticated("refresh token already used; its session is revoked")
    user = session.get(UserRow, row.user_id)
    if user is None or user.disabled:
        revoke_family(session, row.family, now=now)
        session.commit()
        raise Unauthenticated("user disabled")
    new = issue_refresh(session, user.id, now=now, ttl=ttl, family=row.family)
    session.commit()
    return user, new


def revoke_family(session: Session, family: str, *, now: datetime) -> None:
    session.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.family == family, RefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def family_of(session: Session, token: str) -> tuple[int, str] | None:
    row = session.scalar(select(RefreshTokenRow).where(RefreshTokenRow.token_hash == digest(token)))
    return None if row is None else (row.user_id, row.family)
