"""``DLE EOT`` real-time status: what to ask and how to read the answers (sans-IO)."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.escpos.commands import status_request

# Ask the offline cause (2) and the paper sensor (4): two one-byte answers, in this order.
QUERY = status_request(2) + status_request(4)
ANSWER_SIZE = 2


class StatusError(ValueError):
    """An answer byte that is not a DLE EOT status (bits 1 and 4 set, bits 0 and 7 clear)."""


@dataclass(frozen=True)
class PrinterStatus:
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False

    @property
    def ready(self) -> bool:
        return not (self.cover_open or self.paper_out or self.error)

    def problem(self) -> str:
        """A short countable reason, "" when ready."""
        if self.paper_out:
            return "paper_out"
        if self.cover_open:
            return "cover_open"
        if self.error:
            return "printer_error"
        return ""


def _check(byte: int) -> None:
    if byte & 0x93 != 0x12:
        raise StatusError(f"status byte 0x{byte:02X} lacks the fixed bits 0x12")


def parse_status(answer: bytes) -> PrinterStatus:
    """Decode the two answers to :data:`QUERY`."""
    if len(answer) != ANSWER_SIZE:
        raise StatusError(f"expected {ANSWER_SIZE} status bytes, got {len(answer)}")
    offline, paper = answer[0], answer[1]
    _check(offline)
    _check(paper)
    return PrinterStatus(
        cover_open=bool(offline & 0x04),
        paper_out=bool(offline & 0x20) or bool(paper & 0x60),
        paper_near_end=bool(paper & 0x0C),
        error=bool(offline & 0x40),
    )
