"""Load a TOML file into a typed settings model, with one clear message on error.

A wrong file ends the program with exit code 2 and a message naming the file, the key and the
reason. Environment variables override the file (each settings model says its prefix).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file is missing, unreadable or wrong. ``str()`` is the whole message."""

    exit_code = 2


def load(model: type[M], path: Path | None) -> M:
    """Read ``path`` (or only defaults and environment when ``None``) into ``model``."""
    data: dict[str, Any] = {}
    where = str(path) if path is not None else "<defaults>"
    if path is not None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"config error in {where}: cannot read: {exc.strerror}") from exc
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config error in {where}: not UTF-8 text ({exc.reason})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config error in {where}: not valid TOML: {exc}") from exc
    try:
        return model(**data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(where, exc)) from exc


def format_validation_error(where: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "<top>"
        reason = err["msg"]
        if err["type"] == "extra_forbidden":
            reason = "unknown key (misspelt?)"
        lines.append(f"config error in {where}: key '{key}': {reason}")
    return "\n".join(lines)
