from datetime import UTC, datetime
from pathlib import Path

import pytest

from contract.mqtt import Event
from drivers.escpos import raster
from drivers.escpos.status import PrinterStatus, StatusError, parse_status
from gateway.printing.worker import JobOutcome, PrintEvent

TS = datetime(2026, 11, 23, tzinfo=UTC)


def test_events_and_outcomes_become_contract_events() -> None:
    event = PrintEvent("paper_out", "field", "r1").to_mqtt("gw-1", TS)
    assert isinstance(event, Event)
    assert (event.kind, event.severity, event.subject) == ("printer.paper_out", "warning", "r1")
    outcome = JobOutcome("r1", "field", "printed", True, 2, "", "BN-1").to_mqtt("gw-1", TS)
    assert outcome.kind == "print.outcome"
    assert outcome.detail == {
        "printer": "field",
        "result": "printed",
        "copy": True,
        "attempts": 2,
        "reason": "",
        "ref": "BN-1",
    }
    failed = JobOutcome("r1", "field", "failed", True, 5, "link_lost").to_mqtt("gw-1", TS)
    assert failed.severity == "error"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b"\x12\x12", ""),
        (b"\x32\x72", "paper_out"),
        (b"\x16\x12", "cover_open"),
        (b"\x52\x12", "printer_error"),
        (b"\x12\x1e", ""),
    ],
)
def test_status_bytes(answer: bytes, problem: str) -> None:
    assert parse_status(answer).problem() == problem


def test_status_near_end_and_garbage() -> None:
    assert parse_status(b"\x12\x1e").paper_near_end
    assert PrinterStatus().ready
    with pytest.raises(StatusError, match="fixed bits"):
        parse_status(b"\x00\x12")
    with pytest.raises(StatusError, match="expected 2"):
        parse_status(b"\x12")


def test_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("M2C_FONT", str(tmp_path / "nope.ttf"))
    with pytest.raises(raster.FontNotFoundError, match="M2C_FONT"):
        raster.Typeface(20)
    monkeypatch.delenv("M2C_FONT")
    with pytest.raises(raster.FontNotFoundError, match="fonts-noto-cjk"):
        raster.find_font((("/nonexistent/a.ttf", 0),), "M2C_FONT")


def test_dejavu_fallback_refuses_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M2C_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    face = raster.Typeface(20)
    face.render("Tiền điện tháng 11")  # Vietnamese is fine
    with pytest.raises(raster.MissingGlyphError, match="has no glyph"):
        face.render("电费")
