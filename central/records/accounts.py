"""A utility's account-number rule: an RE2 regular expression, matched in linear time.

Operators type these patterns, so they must never be able to stall the service: RE2 has no
backtracking (``(a+)+$`` costs what ``a+$`` costs) and refuses back-references and look-around
with a clear error. ``0[13]\\d{9}`` (Bến Thành: 11 digits starting 01 or 03) reads the same as
before. ``\\d`` means the ASCII digits 0-9 only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from central.records.errors import Invalid

MAX_PATTERN = 200  # the column's length
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is the caller's error, not a log line
_OPTIONS.max_mem = 1 << 20  # a pattern whose program needs more than 1 MiB is refused


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern; raises :class:`Invalid` (field ``account_pattern``) when RE2
    cannot take it."""
    if len(pattern) > MAX_PATTERN:
        raise Invalid("account_pattern", f"longer than {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise Invalid("account_pattern", f"not a usable pattern: {reason}") from exc


def matches(pattern: str, account_no: str) -> bool:
    """Whether ``account_no`` as a whole matches ``pattern``."""
    return compile_pattern(pattern).fullmatch(account_no) is not None
