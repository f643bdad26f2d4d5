"""Logs are one JSON object per line off a terminal, with the device bound."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from m2c import logs


def test_json_lines_carry_bound_context_and_library_records() -> None:
    out = io.StringIO()
    logs.configure("info", json=True, stream=out)
    try:
        structlog.get_logger("gateway.test").bind(meter="sdm630-1").warning(
            "meter not answering", error="timeout"
        )
        logging.getLogger("pymodbus").error("library says %s", "hello")
        logging.getLogger("gateway.test").debug("hidden")
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        logging.getLogger().handlers.clear()
    assert len(lines) == 2
    assert lines[0]["event"] == "meter not answering"
    assert lines[0]["meter"] == "sdm630-1"
    assert lines[0]["level"] == "warning"
    assert lines[0]["timestamp"].endswith("Z")
    assert lines[1]["event"] == "library says hello"
    assert lines[1]["logger"] == "pymodbus"


def test_a_wrong_level_is_refused() -> None:
    with pytest.raises(ValueError, match="'loud'"):
        logs.set_level("loud")
