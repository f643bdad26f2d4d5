"""Central's command-signing key for tests (fixed, so gateway settings can name its public half)
and a helper that signs a command as central does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract.command_signature import public_key_text, sign_command
from contract.mqtt import Command

CENTRAL_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
CENTRAL_PUBLIC = public_key_text(CENTRAL_KEY.public_key())


def signed(
    command: Command,
    gateway_id: str,
    *,
    now: datetime | None = None,
    ttl: timedelta = timedelta(hours=1),
) -> Command:
    return sign_command(command, gateway_id, CENTRAL_KEY, now=now or datetime.now(UTC), ttl=ttl)


def signed_bytes(
    command: Command,
    gateway_id: str,
    *,
    now: datetime | None = None,
    ttl: timedelta = timedelta(hours=1),
) -> bytes:
    return signed(command, gateway_id, now=now, ttl=ttl).model_dump_json().encode()
