"""Central's command-signing key: one Ed25519 key, PEM, mode 0600, created on first use."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class CommandKeyError(Exception):
    """The key file cannot be read, written or is not an Ed25519 key."""


def load_or_create(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        return load(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created meanwhile by another process: use that one
        return load(path)
    except OSError as exc:
        raise CommandKeyError(f"command key {path}: cannot create: {exc}") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    return key


def load(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CommandKeyError(f"command key {path}: cannot load: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CommandKeyError(f"command key {path}: not an Ed25519 key")
    return key
