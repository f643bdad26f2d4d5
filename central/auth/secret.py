"""The token-signing secret: from the environment, from a file, or generated once (0600).

Placeholders and short secrets are refused; a secret file others can read is warned about.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import structlog

from central.settings import AuthSettings

MIN_BYTES = 32
PLACEHOLDERS = ("changethis", "change-me", "changeme", "secret", "password", "example", "xxx")

log = structlog.get_logger(__name__)


class SecretError(Exception):
    """The configured secret cannot be used; ``str()`` says where and why."""


def check(value: bytes, where: str) -> bytes:
    value = value.strip()
    if len(value) < MIN_BYTES:
        raise SecretError(f"{where}: the auth secret has {len(value)} bytes, at least {MIN_BYTES}")
    lowered = value.lower()
    if any(p.encode() in lowered for p in PLACEHOLDERS) or len(set(value)) < 8:
        raise SecretError(f"{where}: the auth secret looks like a placeholder; generate one")
    return value


def load(settings: AuthSettings) -> bytes:
    """The secret the settings name; generated into ``generated_secret_file`` if none is."""
    if settings.secret is not None:
        return check(settings.secret.get_secret_value().encode(), "M2C_CENTRAL_AUTH__SECRET")
    if settings.secret_file is not None:
        return _read(settings.secret_file)
    path = settings.generated_secret_file
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(value + b"\n")
    log.warning("auth_secret_generated", path=str(path))
    return value


def _read(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as exc:
        raise SecretError(f"{path}: cannot read the auth secret: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("auth_secret_file_readable_by_others", path=str(path), mode=oct(mode & 0o777))
    return check(data, str(path))
