"""Blocks → ESC/POS bytes for one printer profile, as few bytes as the paper allows.

- Text with any non-ASCII character (Vietnamese, Chinese), or large, goes as a raster line
  (``GS v 0``), cropped to its ink; the blank rows above and below become ``ESC J`` feeds.
- Plain-ASCII normal-size text goes in text mode (font A) when the profile allows it.
- QR codes use ``GS ( k`` when the profile has native QR, else a raster of the QR matrix.
- The job ends with a feed past the tear bar and, with a cutter, ``GS V``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import qrcode
from PIL import Image

from drivers.escpos import commands as cmd
from drivers.escpos.layout import Block, Logo, Qr, Rule, Text
from drivers.escpos.profile import PrinterProfile
from drivers.escpos.raster import Bitmap, RasterError, Typeface
from drivers.escpos.template import Sizes

TEXT_LINE_DOTS = 30  # font A is 24 dots high; default line spacing adds 6
TAIL_LINES = 3  # paper to feed so the last line clears the tear bar


class EncodeError(Exception):
    """A block cannot be printed (missing glyph, unreadable logo, QR too large)."""


@dataclass
class _Writer:
    profile: PrinterProfile
    sizes: Sizes
    out: bytearray = field(default_factory=bytearray)
    align: str = "left"
    pending_feed: int = 0
    faces: dict[tuple[int, bool], Typeface] = field(default_factory=dict)

    def set_align(self, where: str) -> None:
        if where != self.align:
            self.out += cmd.align(where)
            self.align = where

    def flush_feed(self) -> None:
        self.out += cmd.feed_dots(self.pending_feed)
        self.pending_feed = 0

    def face(self, size: str, bold: bool) -> Typeface:
        px = getattr(self.sizes, size)
        key = (px, bold)
        if key not in self.faces:
            self.faces[key] = Typeface(px, bold=bold)
        return self.faces[key]

    def bitmap(self, bitmap: Bitmap, where: str, top: int = 0, bottom: int = 0) -> None:
        """Print ``bitmap`` aligned, with ``top`` blank dots before and ``bottom`` after."""
        self.pending_feed += top
        if bitmap.height:
            self.flush_feed()
            if self.profile.raster_align:
                self.set_align(where)
            else:
                bitmap = _pad_left(bitmap, where, self.profile.width_dots)
            self.out += cmd.raster(bitmap)
        self.pending_feed += bottom

    def text(self, block: Text) -> None:
        if self.profile.text_mode and block.size == "normal" and block.text.isascii():
            self.flush_feed()
            self.set_align(block.align)
            if block.bold:
                self.out += cmd.bold(True)
            for line in textwrap.wrap(block.text, self.profile.text_columns) or [""]:
                self.out += line.encode("ascii") + cmd.LF
            if block.bold:
                self.out += cmd.bold(False)
            return
        face = self.face(block.size, block.bold)
        for line in face.wrap(block.text, self.profile.width_dots):
            try:
                full = face.render(line)
            except RasterError as exc:
                raise EncodeError(f"cannot print {line!r}: {exc}") from exc
            top, ink = full.crop_to_ink()
            self.bitmap(ink, block.align, top, full.height - top - ink.height)

    def rule(self) -> None:
        if self.profile.text_mode:
            self.text(Text("-" * self.profile.text_columns))
            return
        row = bytes([0xF0]) * (self.profile.width_dots // 8)
        self.bitmap(Bitmap(self.profile.width_dots, 1, row), "left", 4, 4)

    def qr(self, data: str) -> None:
        quiet = 2 * self.profile.qr_module_dots  # blank paper around the code for scanners
        if self.profile.native_qr:
            self.pending_feed += quiet
            self.flush_feed()
            self.set_align("center")
            self.out += cmd.qr_native(
                data.encode("utf-8"), module=self.profile.qr_module_dots, ecc="M"
            )
            self.pending_feed += quiet
            return
        bitmap = qr_bitmap(data, self.profile.qr_module_dots)
        if bitmap.width > self.profile.width_dots:
            raise EncodeError(f"QR of {len(data)} characters is wider than the paper")
        self.bitmap(bitmap, "center", quiet, quiet)

    def logo(self, block: Logo) -> None:
        try:
            with Image.open(block.path) as img:
                img.load()
                source = img.convert("L")
        except OSError as exc:
            raise EncodeError(f"logo {block.path}: {exc}") from exc
        if source.width > self.profile.width_dots:
            height = source.height * self.profile.width_dots // source.width
            source = source.resize((self.profile.width_dots, max(1, height)))
        top, ink = Bitmap.from_image(source.convert("1")).crop_to_ink()
        self.bitmap(ink, "center", top, 4)


def qr_bitmap(data: str, module: int) -> Bitmap:
    """The QR matrix of ``data`` (error level M, no quiet zone), ``module`` dots a module."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    size = len(matrix) * module
    img = Image.new("L", (size, size), 255)
    pixels = img.load()
    assert pixels is not None
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(module):
                    for dx in range(module):
                        pixels[x * module + dx, y * module + dy] = 0
    return Bitmap.from_image(img)


def _pad_left(bitmap: Bitmap, where: str, width: int) -> Bitmap:
    """Shift a bitmap right by whole bytes to centre or right-align it without ``ESC a``."""
    room = width - bitmap.width
    shift = 0 if where == "left" else (room // 2 if where == "center" else room)
    pad = shift // 8
    if pad <= 0:
        return bitmap
    rows = [
        bytes(pad) + bitmap.data[i * bitmap.row_bytes : (i + 1) * bitmap.row_bytes]
        for i in range(bitmap.height)
    ]
    return Bitmap(bitmap.row_bytes * 8 + pad * 8, bitmap.height, b"".join(rows))


def encode(blocks: list[Block], profile: PrinterProfile, sizes: Sizes) -> bytes:
    """The whole job: initialise, every block, feed, cut (if the profile has a cutter)."""
    writer = _Writer(profile, sizes)
    writer.out += cmd.initialize()
    for block in blocks:
        match block:
            case Text():
                writer.text(block)
            case Rule():
                writer.rule()
            case Qr():
                writer.qr(block.data)
            case Logo():
                writer.logo(block)
    writer.pending_feed = 0
    writer.set_align("left")
    writer.out += cmd.feed_lines(TAIL_LINES)
    if profile.cutter:
        writer.out += cmd.cut(partial=True)
    return bytes(writer.out)
