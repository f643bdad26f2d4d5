"""Password hashes: argon2id through argon2-cffi, with its current default parameters.

An unknown login is answered after the same argon2 work as a known one (:func:`waste`), so the
time a login takes does not tell whether the account exists.
"""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 hashes any length; this bounds the work a request can ask for

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("a password nobody has, hashed once to burn the same time")


class WeakPassword(ValueError):
    """A new password that the policy refuses; ``str()`` says why."""


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_LENGTH} characters")
    if "\x00" in password:
        raise WeakPassword("a password cannot contain NUL")


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def verify(stored_hash: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        waste()
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def waste() -> None:
    """Do the work of one verification, for a login that cannot succeed."""
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY, "not the password")
