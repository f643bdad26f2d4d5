"""The simulated printer's mechanism: parses what arrives, moves paper, keeps every job.

Transport-free: the BLE, serial and TCP servers hand it bytes and send back what ``receive``
returns (status answers). A job ends at a cut, at ``ESC @`` after printed content, or at
``flush()`` (the servers call it when the link idles or closes). Each finished job becomes a
:class:`PrintedJob` with a PNG image and a text transcript, written to ``out_dir`` if given.

Faults: ``status_answers_left`` (answer that many status requests, then stay silent),
``paper_dots`` (paper left on the roll, in dots; printing past it loses the rest of the
job and the printer reports paper end), ``open_cover()``. While offline (paper end or cover
open) print data is dropped and counted, but ``DLE EOT`` still answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from PIL import Image, ImageDraw, ImageFont

from drivers.escpos.encode import qr_bitmap
from drivers.escpos.raster import Bitmap
from simulators.printer import parser as p

log = structlog.get_logger(__name__)

TEXT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
TEXT_LINE_DOTS = 30
FIXED_BITS = 0x12  # bits 1 and 4 are always set in a DLE EOT answer


@dataclass(frozen=True)
class PlacedRaster:
    x: int
    y: int
    bitmap: Bitmap


@dataclass
class PrintedJob:
    number: int
    image: Image.Image
    text: str
    rasters: list[PlacedRaster]
    text_lines: list[str]
    qr_codes: list[str]
    unknown: list[bytes]
    errors: list[str]
    ended_by: str  # "cut", "init", "flush", "paper_out"
    png: Path | None = None


@dataclass
class _Page:
    ops: list[tuple[str, int, int, object]] = field(default_factory=list)
    y: int = 0
    transcript: list[str] = field(default_factory=list)
    text_lines: list[str] = field(default_factory=list)
    rasters: list[PlacedRaster] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    unknown: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def empty(self) -> bool:
        return not self.ops and not self.truncated


class PrinterMachine:
    def __init__(
        self,
        width_dots: int = 384,
        *,
        out_dir: Path | None = None,
        paper_dots: int | None = None,
        on_job: Callable[[PrintedJob], None] | None = None,
    ) -> None:
        self.width_dots = width_dots
        self.out_dir = out_dir
        self.paper_dots = paper_dots
        self.on_job = on_job
        self.cover_open = False
        self.status_answers_left: int | None = None  # fault: go silent after this many
        self.jobs: list[PrintedJob] = []
        self.bytes_received = 0
        self.dropped_bytes = 0
        self.unknown_commands = 0
        self.parse_errors = 0
        self._parser = p.EscPosParser()
        self._page = _Page()
        self._align = 0
        self._bold = False
        self._qr_data = b""
        self._qr_module = 3
        self._pending_text = b""
        self._tail = b""
        self._font = ImageFont.truetype(TEXT_FONT, 20, layout_engine=ImageFont.Layout.BASIC)

    # -- state the outside can change --------------------------------------------------------
    @property
    def paper_out(self) -> bool:
        return self.paper_dots is not None and self.paper_dots <= 0

    @property
    def offline(self) -> bool:
        return self.paper_out or self.cover_open

    def load_paper(self, dots: int | None = None) -> None:
        self.paper_dots = dots

    def open_cover(self) -> None:
        self.cover_open = True

    def close_cover(self) -> None:
        self.cover_open = False

    # -- bytes in ----------------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        """Take bytes from the link; returns status answers to send back."""
        self.bytes_received += len(data)
        replies = bytearray(self._realtime(data))
        self._parser.feed(data)
        while True:
            try:
                for event in self._parser.events():
                    self._apply(event)
                break
            except p.EscPosParseError as exc:
                self.parse_errors += 1
                self._page.errors.append(str(exc))
                log.warning("printer_sim.parse_error", error=str(exc))
        return bytes(replies)

    def _realtime(self, data: bytes) -> bytes:
        """``DLE EOT n`` is answered as it arrives, even inside another command's data, as
        real printers do (so a status request gets through to a printer stuck mid-image)."""
        window = self._tail + data
        replies = bytearray()
        start = 0
        while (at := window.find(b"\x10\x04", start)) != -1 and at + 2 < len(window):
            if at + 2 >= len(self._tail) and 1 <= window[at + 2] <= 4:
                kind = window[at + 2]
                if self.status_answers_left is None or self.status_answers_left > 0:
                    if self.status_answers_left is not None:
                        self.status_answers_left -= 1
                    replies.append(self.status_byte(kind))
            start = at + 1
        self._tail = window[-2:]
        return bytes(replies)

    def link_closed(self) -> PrintedJob | None:
        """The client went away: the job ends, unless a command still waits for its data (a
        printer keeps waiting for the rest of an image whoever sends it)."""
        if self._parser.buffered and self._parser.mid_command:
            return None
        return self.flush()

    def flush(self) -> PrintedJob | None:
        """End the current job (idle link, closed connection, end of a test)."""
        tail = self._parser.flush_text()
        if tail is not None:
            self._apply(tail)
        self._text_out()
        return self._finish("flush")

    # -- events ------------------------------------------------------------------------------
    def _apply(self, event: p.Event) -> None:
        match event:
            case p.StatusRequest():
                pass  # answered on arrival by _realtime
            case p.Init():
                self._text_out()
                if not self._page.empty:
                    self._finish("init")
                self._align, self._bold = 0, False
            case p.SetAlign(align=a):
                self._align = a
            case p.SetBold(on=on):
                self._bold = on
            case p.SetMode():
                pass
            case p.TextLine(data=data, ended=ended):
                self._pending_text += data
                if ended:
                    self._text_out(force=True)
            case p.FeedDots(dots=dots):
                self._text_out()
                self._advance(dots)
            case p.FeedLines(lines=lines):
                self._text_out()
                self._advance(lines * TEXT_LINE_DOTS)
            case p.Cut():
                self._text_out()
                self._page.transcript.append("[cut]")
                self._finish("cut")
            case p.Raster(width_bytes=w, height=h, data=data):
                self._raster(Bitmap(w * 8, h, data))
            case p.QrSetting(function=fn, params=params):
                if fn == 67 and params:
                    self._qr_module = max(1, min(16, params[0]))
            case p.QrStore(data=data):
                self._qr_data = data
            case p.QrPrint():
                self._qr()
            case p.Unknown(data=data):
                self.unknown_commands += 1
                self._page.unknown.append(data)
                self._page.transcript.append(f"[unknown {data.hex(' ')}]")

    def status_byte(self, kind: int) -> int:
        if kind == 1:
            return FIXED_BITS | (0x08 if self.offline else 0)
        if kind == 2:
            return FIXED_BITS | (0x04 if self.cover_open else 0) | (0x20 if self.paper_out else 0)
        if kind == 4:
            return FIXED_BITS | (0x60 if self.paper_out else 0)
        return FIXED_BITS

    # -- paper -------------------------------------------------------------------------------
    def _room(self, dots: int) -> bool:
        """Move ``dots`` of paper if there is that much; else run out and lose the job."""
        if self.offline:
            self.dropped_bytes += 1
            self._page.truncated = True
            return False
        if self.paper_dots is not None:
            if self.paper_dots < dots:
                self.paper_dots = 0
                self._page.truncated = True
                self._page.transcript.append("[paper out]")
                log.info("printer_sim.paper_out")
                return False
            self.paper_dots -= dots
        return True

    def _advance(self, dots: int) -> None:
        if self._room(dots):
            self._page.y += dots

    def _x(self, width: int) -> int:
        room = max(0, self.width_dots - width)
        return (0, room // 2, room)[self._align]

    def _text_out(self, *, force: bool = False) -> None:
        if not self._pending_text and not force:
            return
        raw = self._pending_text.decode("cp437", errors="replace")
        text = "".join(ch if ch.isprintable() else "?" for ch in raw)
        self._pending_text = b""
        if not self._room(TEXT_LINE_DOTS):
            return
        width = int(self._font.getlength(text))
        self._page.ops.append(("text", self._x(width), self._page.y, text))
        self._page.text_lines.append(text)
        self._page.transcript.append(text)
        self._page.y += TEXT_LINE_DOTS

    def _raster(self, bitmap: Bitmap) -> None:
        self._text_out()
        if not self._room(bitmap.height):
            return
        placed = PlacedRaster(self._x(bitmap.width), self._page.y, bitmap)
        self._page.ops.append(("raster", placed.x, placed.y, bitmap))
        self._page.rasters.append(placed)
        self._page.transcript.append(f"[raster {bitmap.width}x{bitmap.height}]")
        self._page.y += bitmap.height

    def _qr(self) -> None:
        self._text_out()
        text = self._qr_data.decode("utf-8", errors="replace")
        bitmap = qr_bitmap(text, self._qr_module)
        size = bitmap.height
        if not self._room(size):
            return
        self._page.ops.append(("raster", self._x(size), self._page.y, bitmap))
        self._page.qr_codes.append(text)
        self._page.transcript.append(f"[QR {text}]")
        self._page.y += size

    def _finish(self, ended_by: str) -> PrintedJob | None:
        page = self._page
        if page.empty:
            return None
        self._page = _Page()
        image = Image.new("1", (self.width_dots, max(1, page.y)), 1)
        draw = ImageDraw.Draw(image)
        for kind, x, y, item in page.ops:
            if kind == "raster":
                assert isinstance(item, Bitmap)
                image.paste(item.to_image(), (x, y))
            else:
                assert isinstance(item, str)
                draw.text((x, y + 2), item, font=self._font, fill=0)
        job = PrintedJob(
            number=len(self.jobs) + 1,
            image=image,
            text="\n".join(page.transcript) + "\n",
            rasters=page.rasters,
            text_lines=page.text_lines,
            qr_codes=page.qr_codes,
            unknown=page.unknown,
            errors=page.errors,
            ended_by="paper_out" if page.truncated else ended_by,
        )
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            job.png = self.out_dir / f"job-{job.number:04d}.png"
            image.save(job.png)
            job.png.with_suffix(".txt").write_text(job.text, encoding="utf-8")
        self.jobs.append(job)
        log.info("printer_sim.job", number=job.number, ended_by=job.ended_by, png=str(job.png))
        if self.on_job is not None:
            self.on_job(job)
        return job
