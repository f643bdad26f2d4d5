"""Mosquitto password files: lines ``user:$7$<iterations>$<salt b64>$<PBKDF2-SHA512 b64>``.

The format Mosquitto 2 reads (what ``mosquitto_passwd`` writes), produced here so that
enrollment needs no broker tools on the central host. Files are rewritten atomically, 0640.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

ITERATIONS = 1000  # passwords are 32 random characters: the count guards nothing weaker


class PasswordFileError(Exception):
    """The password file cannot be read or written; ``str()`` names the file and the reason."""


def hash_line(username: str, password: str, *, iterations: int = ITERATIONS) -> str:
    """One password-file line (no newline)."""
    if ":" in username or "\n" in username:
        raise ValueError(f"username {username!r} may contain neither ':' nor a line break")
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    b64 = base64.b64encode
    return f"{username}:$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def check_line(line: str, password: str) -> bool:
    """True when ``line`` (``user:$7$...``) holds ``password``."""
    try:
        _, _, seven, iterations, salt, digest = line.strip().replace(":", "$", 1).split("$")
    except ValueError:
        return False
    if seven != "7":
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(got, base64.b64decode(digest))


def new_password() -> str:
    return secrets.token_urlsafe(24)


def _read(path: Path) -> list[str]:
    try:
        return path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise PasswordFileError(f"password file {path}: cannot read: {exc}") from exc


def _write(path: Path, lines: list[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("".join(f"{line}\n" for line in lines))
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except OSError as exc:
        raise PasswordFileError(f"password file {path}: cannot write: {exc}") from exc


def users(path: Path) -> list[str]:
    return [line.split(":", 1)[0] for line in _read(path) if ":" in line]


def set_user(path: Path, username: str, password: str) -> None:
    """Add ``username`` or replace its line; the other lines stay as they are."""
    line = hash_line(username, password)
    kept = [entry for entry in _read(path) if entry.split(":", 1)[0] != username]
    _write(path, [*kept, line])


def remove_user(path: Path, username: str) -> bool:
    """Drop ``username``'s line; False when it was not there."""
    lines = _read(path)
    kept = [entry for entry in lines if entry.split(":", 1)[0] != username]
    if len(kept) == len(lines):
        return False
    _write(path, kept)
    return True
