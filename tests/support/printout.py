"""Check a simulated printout against the document it should show.

The simulator only sees bytes. To prove that the PNG shows the right Vietnamese text, every
raster line the document should contain is rendered again, independently, from the expected
text with the same font, and must appear — pixel for pixel — at its place in the PNG file the
simulator wrote. Text-mode lines and QR payloads are compared as text.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops

from drivers.escpos.commands import without_realtime
from drivers.escpos.encode import qr_bitmap
from drivers.escpos.layout import Block, Qr, Rule, Text
from drivers.escpos.profile import PrinterProfile
from drivers.escpos.raster import Bitmap, Typeface
from drivers.escpos.template import Sizes
from simulators.printer.machine import PrintedJob


@dataclass(frozen=True)
class Expected:
    rasters: list[Bitmap]
    text_lines: list[str]
    qr_codes: list[str]


def expected_output(blocks: list[Block], profile: PrinterProfile, sizes: Sizes) -> Expected:
    rasters: list[Bitmap] = []
    text_lines: list[str] = []
    qr_codes: list[str] = []
    for block in blocks:
        if isinstance(block, Rule):
            text_lines.append("-" * profile.text_columns)
        elif isinstance(block, Qr):
            if profile.native_qr:
                qr_codes.append(block.data)
            else:
                rasters.append(_as_sent(qr_bitmap(block.data, profile.qr_module_dots)))
        elif isinstance(block, Text):
            if block.size == "normal" and block.text.isascii() and profile.text_mode:
                text_lines.append(block.text)
                continue
            face = Typeface(getattr(sizes, block.size), bold=block.bold)
            for line in face.wrap(block.text, profile.width_dots):
                _, ink = face.render(line).crop_to_ink()
                rasters.append(_as_sent(ink))
    return Expected(rasters, text_lines, qr_codes)


def _as_sent(bitmap: Bitmap) -> Bitmap:
    """The image as the encoder sends it: with no real-time command in its bytes."""
    return Bitmap(bitmap.width, bitmap.height, without_realtime(bitmap.data))


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    if a.size != b.size:
        return False
    return ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


def assert_printout_shows(job: PrintedJob, expected: Expected) -> None:
    assert job.png is not None, "the simulator wrote no PNG"
    with Image.open(job.png) as opened:
        png = opened.copy()
    assert job.text_lines == expected.text_lines
    assert job.qr_codes == expected.qr_codes
    assert len(job.rasters) == len(expected.rasters), (
        f"{len(job.rasters)} raster lines printed, {len(expected.rasters)} expected"
    )
    for index, (placed, want) in enumerate(zip(job.rasters, expected.rasters, strict=True)):
        region = png.crop((placed.x, placed.y, placed.x + want.width, placed.y + want.height))
        assert same_pixels(region, want.to_image()), f"raster line {index} differs"
