"""Access tokens (short-lived JWTs, HS256) and opaque secrets (refresh tokens, API keys).

Expiry is checked against the app's injected clock, not the wall clock, so tests move time.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "meter2cash-central"


class InvalidToken(Exception):
    """A bearer token that is malformed, badly signed or expired; ``str()`` says which."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    issued_at: datetime
    expires_at: datetime


def issue_access(secret: bytes, user_id: int, *, now: datetime, ttl: timedelta) -> str:
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access(secret: bytes, token: str, *, now: datetime) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={
                "verify_exp": False,  # checked below against the injected clock
                "verify_iat": False,
                "require": ["exp", "iat", "sub", "iss"],
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from exc
    if claims.get("typ") != "access":
        raise InvalidToken("invalid token: not an access token")
    try:
        user_id = int(claims["sub"])
        iat = datetime.fromtimestamp(int(claims["iat"]), tz=now.tzinfo)
        exp = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise InvalidToken("invalid token: bad claims") from exc
    if now >= exp:
        raise InvalidToken("token expired")
    return AccessClaims(user_id=user_id, issued_at=iat, expires_at=exp)


def new_secret() -> str:
    """32 random bytes, URL-safe text."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the database keeps of a refresh token or an API key."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
