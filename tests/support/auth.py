"""Credentials for tests: API keys and users made directly through ``central.auth``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.auth import Role, apikeys, users

PASSWORD = "correct horse battery staple"


LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def _long_ago() -> datetime:
    """When test credentials are made: before any test clock, so that a server on a fixed
    clock sees a user's password as set before the tokens it issues."""
    return LONG_AGO


def api_key(engine: Engine, *roles: Role, name: str | None = None) -> str:
    """A new API key holding ``roles`` (admin when none are given)."""
    roles = roles or (Role.ADMIN,)
    name = name or f"test-{'-'.join(sorted(roles))}-{secrets.token_hex(3)}"
    with Session(engine) as session:
        _row, key = apikeys.create(session, name, roles, clock=_long_ago)
        session.commit()
    return key


def key_headers(engine: Engine, *roles: Role, name: str | None = None) -> dict[str, str]:
    return {"X-API-Key": api_key(engine, *roles, name=name)}


def add_user(
    engine: Engine, login: str, *roles: Role, password: str = PASSWORD, display_name: str = ""
) -> int:
    with Session(engine) as session:
        row = users.create(
            session,
            login,
            password,
            roles or (Role.ADMIN,),
            display_name=display_name,
            clock=_long_ago,
        )
        session.commit()
        return row.id


def bearer(base_url: str, login: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in over HTTP (the OAuth2 password form); the Authorization header for the token."""
    r = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"username": login, "password": password},
        timeout=30,
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@contextmanager
def user_client(base_url: str, db_url: str, login: str, *roles: Role) -> Iterator[httpx.Client]:
    """A client logged in as a new user ``login`` holding ``roles`` on the server at
    ``base_url`` over ``db_url``."""
    from central.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        add_user(engine, login, *roles)
    finally:
        engine.dispose()
    with httpx.Client(base_url=base_url, headers=bearer(base_url, login), timeout=30) as c:
        yield c
