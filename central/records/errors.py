"""The records exception tree: every error names what and where."""

from __future__ import annotations


class RecordsError(Exception):
    """Base of every error raised by :mod:`central.records`."""


class NotFound(RecordsError):
    """A record that does not exist was asked for."""


class Invalid(RecordsError):
    """A value breaks a rule; ``field`` names the value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Conflict(RecordsError):
    """The change clashes with existing records (a duplicate account number, ...)."""
