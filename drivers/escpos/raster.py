"""Text → 1-bit bitmaps for ``GS v 0``, so Vietnamese and Chinese print on any printer.

Font choice: Noto Sans CJK SC (``fonts-noto-cjk``) covers Vietnamese (every precomposed letter
with its stacked marks) and Chinese in one face, so a line mixing both needs no fallback. When
it is missing, DejaVu Sans (``fonts-dejavu-core``) covers Vietnamese but not Chinese: text with
a character the font lacks raises :class:`MissingGlyphError` instead of printing boxes.

A :class:`Bitmap` is packed MSB-first, eight dots per byte, rows top to bottom — the layout
``GS v 0`` expects. Rendering crops to the ink: blank columns on the right and blank rows above
and below are not sent (the caller feeds paper instead), which keeps receipts small.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# (path, index in a collection); searched in order. M2C_FONT / M2C_FONT_BOLD override.
REGULAR_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
)
BOLD_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 0),
)


class RasterError(Exception):
    """Base of this module's errors."""


class FontNotFoundError(RasterError):
    """No usable font file; the message lists every path tried."""


class MissingGlyphError(RasterError):
    """The font has no glyph for a character of the text."""


@dataclass(frozen=True)
class Bitmap:
    """A packed 1-bit image: ``width`` dots, ``height`` rows, ``(width + 7) // 8`` bytes a row."""

    width: int
    height: int
    data: bytes

    @property
    def row_bytes(self) -> int:
        return (self.width + 7) // 8

    def __post_init__(self) -> None:
        if len(self.data) != self.row_bytes * self.height:
            raise RasterError(
                f"bitmap {self.width}x{self.height} needs {self.row_bytes * self.height} "
                f"bytes, got {len(self.data)}"
            )

    def to_image(self) -> Image.Image:
        """Black ink on white, mode ``1``."""
        img = Image.frombytes("1", (self.row_bytes * 8, self.height), self.data)
        img = Image.eval(img.convert("L"), lambda v: 255 - v).convert("1")
        return img.crop((0, 0, self.width, self.height))

    @classmethod
    def from_image(cls, img: Image.Image) -> Bitmap:
        """Pack an image: any non-white pixel is ink."""
        gray = img.convert("L")
        inverted = Image.eval(gray, lambda v: 255 if v < 128 else 0).convert("1")
        width, height = img.size
        padded = Image.new("1", (((width + 7) // 8) * 8, height), 0)
        padded.paste(inverted, (0, 0))
        return cls(width, height, padded.tobytes())

    def crop_to_ink(self) -> tuple[int, Bitmap]:
        """Drop blank rows above and below and blank columns on the right.

        Returns ``(rows dropped above, bitmap)``; an all-blank bitmap gives height 0.
        """
        img = self.to_image()
        box = Image.eval(img.convert("L"), lambda v: 255 - v).getbbox()
        if box is None:
            return self.height, Bitmap(0, 0, b"")
        _, top, right, bottom = box
        return top, Bitmap.from_image(img.crop((0, top, right, bottom)))


def find_font(candidates: Sequence[tuple[str, int]], env: str) -> tuple[str, int]:
    """The first existing font of ``candidates``, or ``$env`` (``path`` or ``path:index``)."""
    override = os.environ.get(env)
    if override:
        path, _, index_text = override.partition(":")
        if not Path(path).is_file():
            raise FontNotFoundError(f"font {path!r} named by ${env} does not exist")
        return path, int(index_text or 0)
    for path, index in candidates:
        if Path(path).is_file():
            return path, index
    tried = ", ".join(p for p, _ in candidates)
    raise FontNotFoundError(
        f"no font for Vietnamese/Chinese text found (tried {tried}); install fonts-noto-cjk "
        f"or fonts-dejavu-core, or set ${env}"
    )


@lru_cache(maxsize=32)
def _load(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


@lru_cache(maxsize=8)
def _notdef_mask(path: str, index: int, size: int) -> bytes:
    font = _load(path, index, size)
    return bytes(font.getmask("\U0010fffd", mode="1"))


class Typeface:
    """One font at one pixel size: measures, wraps and renders single lines of text."""

    def __init__(self, size: int, *, bold: bool = False) -> None:
        if not 8 <= size <= 96:
            raise RasterError(f"font size {size} px is outside 8..96")
        self.path, self.index = find_font(
            BOLD_FONTS if bold else REGULAR_FONTS, "M2C_FONT_BOLD" if bold else "M2C_FONT"
        )
        self.size = size
        self.font = _load(self.path, self.index, size)
        ascent, descent = self.font.getmetrics()
        self.line_height = ascent + descent
        self._checked: set[str] = set()

    def check(self, text: str) -> None:
        """Raise :class:`MissingGlyphError` if a character would print as a box."""
        notdef = _notdef_mask(self.path, self.index, self.size)
        for ch in set(text) - self._checked:
            if ch.isspace():
                continue
            if bytes(self.font.getmask(ch, mode="1")) == notdef:
                raise MissingGlyphError(
                    f"font {Path(self.path).name} has no glyph for {ch!r} (U+{ord(ch):04X})"
                )
            self._checked.add(ch)

    def width(self, text: str) -> int:
        return int(self.font.getlength(text))

    def wrap(self, text: str, max_width: int) -> list[str]:
        """Break ``text`` at spaces (or anywhere, for CJK runs) to fit ``max_width`` dots."""
        lines: list[str] = []
        for paragraph in text.split("\n"):
            current = ""
            for word in _tokens(paragraph):
                candidate = current + word
                if not current or self.width(candidate.rstrip()) <= max_width:
                    current = candidate
                    continue
                lines.append(current.rstrip())
                current = word.lstrip()
            while self.width(current.rstrip()) > max_width and len(current) > 1:
                cut = len(current) - 1
                while cut > 1 and self.width(current[:cut]) > max_width:
                    cut -= 1
                lines.append(current[:cut])
                current = current[cut:]
            lines.append(current.rstrip())
        return lines

    def render(self, text: str) -> Bitmap:
        """One line, full line height, left-aligned, uncropped (crop with ``crop_to_ink``)."""
        if not text.isprintable():
            raise RasterError(f"line {text!r} contains control characters")
        self.check(text)
        width = max(1, self.width(text) + 2)
        img = Image.new("1", (width, self.line_height), 1)
        ImageDraw.Draw(img).text((0, 0), text, font=self.font, fill=0)
        return Bitmap.from_image(img)


def _tokens(text: str) -> Iterable[str]:
    """Words with their following space; every CJK character is a word of its own."""
    word = ""
    for ch in text:
        if "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af":
            if word:
                yield word
                word = ""
            yield ch
        elif ch == " ":
            yield word + " "
            word = ""
        else:
            word += ch
    if word:
        yield word
