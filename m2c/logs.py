"""Structured logging: JSON lines when stdout is not a terminal, readable lines when it is.

Called once from ``main()``; nothing here runs at import time. Libraries that log through the
standard library (pymodbus, paho, uvicorn, alembic) are routed through the same renderer.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure(level: str = "info", *, json: bool | None = None, stream: Any = None) -> None:
    """Set up structlog and the standard library's root logger."""
    out = stream if stream is not None else sys.stdout
    use_json = (not out.isatty()) if json is None else json
    numeric = _LEVELS.get(level.lower())
    if numeric is None:
        raise ValueError(f"log level {level!r} is not one of {', '.join(_LEVELS)}")
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info if use_json else _identity,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # Chatty libraries stay at warning unless asked for debug.
    for name in ("pymodbus", "paho", "bumble", "alembic", "uvicorn.access", "httpx"):
        logging.getLogger(name).setLevel(numeric if numeric == logging.DEBUG else logging.WARNING)


def set_level(level: str) -> None:
    """Change the level at run time (the gateway's ``set_log_level`` command)."""
    numeric = _LEVELS.get(level.lower())
    if numeric is None:
        raise ValueError(f"log level {level!r} is not one of {', '.join(_LEVELS)}")
    logging.getLogger().setLevel(numeric)


def _identity(_logger: Any, _name: str, event: Any) -> Any:
    return event
