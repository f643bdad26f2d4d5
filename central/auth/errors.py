"""What can go wrong when someone proves who they are, or when accounts are managed."""

from __future__ import annotations

from datetime import datetime


class AuthError(Exception):
    """Base of the auth errors; ``str()`` is the message for the caller."""


class Unauthenticated(AuthError):
    """No credential, or one that is wrong, expired, revoked or disabled (HTTP 401)."""


class Locked(AuthError):
    """Too many failed logins for this name; try again after ``until`` (HTTP 429)."""

    def __init__(self, until: datetime) -> None:
        super().__init__("too many failed logins; try again later")
        self.until = until


class AccountError(AuthError):
    """A user or key cannot be created or changed as asked (bad name, duplicate, unknown)."""
