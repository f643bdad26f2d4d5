"""The authenticator an app holds (``app.state.auth``): credentials in, a principal out.

A bearer token names a user; the user's row is read on every request, so disabling a user or
changing a password ends their access tokens at once (not only at expiry). An API key is looked
up by its digest.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from central.auth import apikeys, login, tokens
from central.auth.errors import Unauthenticated
from central.auth.roles import Principal
from central.auth.users import parse_roles, revoke_refresh_tokens
from central.db.models.auth import UserRow
from central.settings import AuthSettings


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds


@dataclass
class Authenticator:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    settings: AuthSettings = field(default_factory=AuthSettings)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    unknown: login.UnknownNames = field(default_factory=login.UnknownNames)

    @property
    def access_ttl(self) -> timedelta:
        return timedelta(minutes=self.settings.access_token_minutes)

    @property
    def refresh_ttl(self) -> timedelta:
        return timedelta(days=self.settings.refresh_token_days)

    def principal(self, *, bearer: str | None, api_key: str | None) -> Principal:
        """Who sent these credentials; :class:`Unauthenticated` if nobody (or nobody valid)."""
        if bearer and api_key:
            raise Unauthenticated("send a bearer token or an API key, not both")
        if api_key:
            return self._from_key(api_key)
        if bearer:
            return self._from_bearer(bearer)
        raise Unauthenticated("not authenticated")

    def _from_bearer(self, token: str) -> Principal:
        now = self.clock()
        try:
            claims = tokens.read_access(self.secret, token, now=now)
        except tokens.InvalidToken as exc:
            raise Unauthenticated(str(exc)) from exc
        with self.sessions() as session:
            user = session.get(UserRow, claims.user_id)
            if user is None or user.disabled:
                raise Unauthenticated("invalid token: no such active user")
            if claims.issued_at < user.password_changed_at.replace(microsecond=0):
                raise Unauthenticated("invalid token: the password changed since")
            return _user_principal(user)

    def _from_key(self, key: str) -> Principal:
        with self.sessions() as session:
            row = apikeys.lookup(session, key, now=self.clock())
            if row is None:
                raise Unauthenticated("invalid or revoked API key")
            return Principal(kind="api_key", name=f"key:{row.name}", roles=parse_roles(row.roles))

    def login(self, name: str, password: str) -> TokenPair:
        now = self.clock()
        with self.sessions() as session:
            user = login.authenticate(
                session, name, password, now=now, settings=self.settings, unknown=self.unknown
            )
            return self._pair(session, user, now)

    def refresh(self, token: str) -> TokenPair:
        now = self.clock()
        with self.sessions() as session:
            user, new = login.rotate(session, token, now=now, ttl=self.refresh_ttl)
            access = tokens.issue_access(self.secret, user.id, now=now, ttl=self.access_ttl)
            return TokenPair(access, new, int(self.access_ttl.total_seconds()))

    def logout(self, user_id: int, refresh_token: str | None) -> None:
        """End one session (the refresh token's family), or all of the user's sessions."""
        now = self.clock()
        with self.sessions() as session:
            if refresh_token is not None:
                found = login.family_of(session, refresh_token)
                if found is not None and found[0] == user_id:
                    login.revoke_family(session, found[1], now=now)
            else:
                revoke_refresh_tokens(session, user_id, now=now)
            session.commit()

    def _pair(self, session: Session, user: UserRow, now: datetime) -> TokenPair:
        refresh = login.issue_refresh(session, user.id, now=now, ttl=self.refresh_ttl)
        session.commit()
        access = tokens.issue_access(self.secret, user.id, now=now, ttl=self.access_ttl)
        return TokenPair(access, refresh, int(self.access_ttl.total_seconds()))


def _user_principal(user: UserRow) -> Principal:
    return Principal(kind="user", name=user.login, roles=parse_roles(user.roles), user_id=user.id)
