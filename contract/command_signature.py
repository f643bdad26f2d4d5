"""Signed commands: central signs every downlink command, a gateway runs only what verifies.

The signature is Ed25519 over the **canonical content**: the UTF-8 bytes of ::

    M2C-CMD1\\n<gateway id>\\n<JSON of the command without "sig">

where the JSON has sorted keys, no spaces, ASCII escapes and ``expires`` as
``YYYY-MM-DDTHH:MM:SS.ffffffZ``. The target gateway's id is part of what is signed, so a command
for one gateway cannot be replayed to another; ``expires`` bounds how long a captured command
stays valid, and the gateway remembers every command id until it expires, so none runs twice.
``sig`` is the unpadded base64url of the 64-byte signature.

Depends on ``cryptography``, pydantic (through :mod:`contract.mqtt`) and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contract.mqtt import Command

MAGIC = "M2C-CMD1"
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
DEFAULT_TTL = timedelta(hours=24)
MAX_TTL = timedelta(days=7)  # a gateway refuses an expiry further ahead than this


class CommandSignatureError(Exception):
    """Base: a command cannot be trusted. ``str()`` says why, for the reply and the log."""


class UnsignedCommandError(CommandSignatureError):
    """The command carries no signature or no expiry."""


class BadCommandSignatureError(CommandSignatureError):
    """The signature is malformed or does not match (altered, or signed by another key)."""


class ExpiredCommandError(CommandSignatureError):
    """The command's expiry has passed (or lies implausibly far ahead)."""


def canonical(command: Command, gateway_id: str) -> bytes:
    """The exact bytes that are signed for ``gateway_id``."""
    body = command.model_dump(mode="json", exclude={"sig"})
    body["expires"] = command.expires.astimezone(UTC).strftime(_TIME) if command.expires else None
    try:
        text = json.dumps(
            body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
    except ValueError as exc:  # a NaN or an infinity in args
        raise BadCommandSignatureError(
            f"command {command.id} cannot be canonicalised: {exc}"
        ) from exc
    return f"{MAGIC}\n{gateway_id}\n{text}".encode()


def sign_command(
    command: Command,
    gateway_id: str,
    key: Ed25519PrivateKey,
    *,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
) -> Command:
    """``command`` with ``expires = now + ttl`` and its signature for ``gateway_id``."""
    dated = command.model_copy(update={"expires": (now + ttl).astimezone(UTC), "sig": None})
    raw = key.sign(canonical(dated, gateway_id))
    sig = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    return dated.model_copy(update={"sig": sig})


def verify_command(
    command: Command,
    gateway_id: str,
    keys: Sequence[Ed25519PublicKey],
    *,
    now: datetime,
    skew: timedelta = timedelta(minutes=5),
    max_ttl: timedelta = MAX_TTL,
) -> datetime:
    """Check ``command`` for ``gateway_id`` against central's keys; returns its expiry.

    Raises :class:`UnsignedCommandError`, :class:`BadCommandSignatureError` or
    :class:`ExpiredCommandError` (all :class:`CommandSignatureError`).
    """
    if not command.sig or command.expires is None:
        raise UnsignedCommandError(f"command {command.id} is not signed (sig and expires needed)")
    sig = command.sig
    try:
        raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadCommandSignatureError(f"command {command.id}: signature is not base64url") from exc
    if len(raw) != 64:
        raise BadCommandSignatureError(
            f"command {command.id}: signature has {len(raw)} bytes, Ed25519 has 64"
        )
    content = canonical(command, gateway_id)
    for key in keys:
        try:
            key.verify(raw, content)
        except InvalidSignature:
            continue
        break
    else:
        raise BadCommandSignatureError(
            f"command {command.id}: signature does not match (altered, meant for another"
            " gateway, or not signed by central)"
        )
    expires = command.expires
    if expires + skew <= now:
        raise ExpiredCommandError(f"command {command.id} expired at {expires.isoformat()}")
    if expires > now + max_ttl + skew:
        raise ExpiredCommandError(
            f"command {command.id}: expiry {expires.isoformat()} is further ahead than"
            f" {max_ttl} (a clock set wrong at central?)"
        )
    return expires


def public_key_text(key: Ed25519PublicKey) -> str:
    """Raw 32-byte public key, base64url (the form gateway settings hold)."""
    return base64.urlsafe_b64encode(key.public_bytes_raw()).rstrip(b"=").decode("ascii")


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A base64url 32-byte Ed25519 public key; ``ValueError`` naming the problem otherwise."""
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a base64url 32-byte Ed25519 public key") from exc
