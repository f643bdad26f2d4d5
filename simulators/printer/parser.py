"""Sans-IO ESC/POS parser: bytes in (any split), commands out.

``feed(data)`` buffers; ``events()`` yields every complete command. Commands we do not know
become :class:`Unknown` events (reported, not fatal). Only a command whose parameters no printer
could accept raises :class:`EscPosParseError`; its bytes are dropped and parsing goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

ESC, GS, DLE, FS, LF, CR, HT = 0x1B, 0x1D, 0x10, 0x1C, 0x0A, 0x0D, 0x09
MAX_RASTER_BYTES = 1 << 20  # a 576-dot-wide image 14 000 rows tall; anything bigger is garbage
MAX_TEXT_LINE = 4096


class EscPosParseError(Exception):
    """Bytes no printer could accept; ``offset`` counts bytes since the parser started."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at byte {offset})")
        self.offset = offset


@dataclass(frozen=True)
class Init:
    pass


@dataclass(frozen=True)
class TextLine:
    data: bytes  # without the LF
    ended: bool = True  # False when flushed by a feed command rather than LF


@dataclass(frozen=True)
class SetAlign:
    align: int  # 0 left, 1 centre, 2 right


@dataclass(frozen=True)
class SetBold:
    on: bool


@dataclass(frozen=True)
class SetMode:
    """``ESC ! n`` print mode, ``GS ! n`` size, ``ESC - n`` underline, ``ESC t n`` code page."""

    command: str
    value: int


@dataclass(frozen=True)
class FeedDots:
    dots: int


@dataclass(frozen=True)
class FeedLines:
    lines: int


@dataclass(frozen=True)
class Cut:
    mode: int
    feed: int = 0


@dataclass(frozen=True)
class Raster:
    mode: int
    width_bytes: int
    height: int
    data: bytes


@dataclass(frozen=True)
class QrSetting:
    function: int
    params: bytes


@dataclass(frozen=True)
class QrStore:
    data: bytes


@dataclass(frozen=True)
class QrPrint:
    pass


@dataclass(frozen=True)
class StatusRequest:
    kind: int


@dataclass(frozen=True)
class Unknown:
    data: bytes


Event = (
    Init
    | TextLine
    | SetAlign
    | SetBold
    | SetMode
    | FeedDots
    | FeedLines
    | Cut
    | Raster
    | QrSetting
    | QrStore
    | QrPrint
    | StatusRequest
    | Unknown
)

# ESC commands with one parameter byte and how they map to events.
_ESC_ONE = {
    ord("!"): "ESC !",
    ord("-"): "ESC -",
    ord("t"): "ESC t",
    ord("3"): "ESC 3",
    ord("M"): "ESC M",
    ord("G"): "ESC G",
    ord("V"): "ESC V",
    ord("{"): "ESC {",
    ord("r"): "ESC r",
    ord("R"): "ESC R",
    ord("c"): "ESC c",
}
_CUT_WITH_FEED = {65, 66, 97, 98, 103, 104}


class _Incomplete(Exception):
    pass


class EscPosParser:
    def __init__(self) -> None:
        self._buf = bytearray()
        self._consumed = 0  # bytes dropped from the front of _buf since start

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def mid_command(self) -> bool:
        """Buffered bytes are the start of a command still waiting for the rest."""
        return bool(self._buf) and self._buf[0] in (ESC, GS, DLE, FS)

    def feed(self, data: bytes) -> None:
        self._buf += data

    def events(self) -> Iterator[Event]:
        """Every complete command in the buffer; raises :class:`EscPosParseError` on garbage."""
        while self._buf:
            try:
                size, event = self._one()
            except _Incomplete:
                if self._buf[0] not in (ESC, GS, DLE, FS) and len(self._buf) > MAX_TEXT_LINE:
                    size, event = len(self._buf), TextLine(bytes(self._buf), ended=False)
                else:
                    return
            except EscPosParseError:
                raise
            self._drop(size)
            if event is not None:
                yield event

    def flush_text(self) -> TextLine | None:
        """Text waiting for its LF (a printer prints it at a feed or at the end of a job)."""
        if self._buf and self._buf[0] not in (ESC, GS, DLE, FS):
            end = next((i for i, b in enumerate(self._buf) if b in (ESC, GS, DLE, FS)), None)
            chunk = bytes(self._buf[: end if end is not None else len(self._buf)])
            self._drop(len(chunk))
            return TextLine(chunk, ended=False)
        return None

    def _drop(self, size: int) -> None:
        del self._buf[:size]
        self._consumed += size

    def _need(self, size: int) -> None:
        if len(self._buf) < size:
            raise _Incomplete

    def _fail(self, size: int, message: str) -> EscPosParseError:
        error = EscPosParseError(message, self._consumed)
        self._drop(size)
        return error

    def _one(self) -> tuple[int, Event | None]:
        b = self._buf
        first = b[0]
        if first == ESC:
            return self._esc()
        if first == GS:
            return self._gs()
        if first == DLE:
            self._need(2)
            if b[1] != 0x04:
                return 2, Unknown(bytes(b[:2]))
            self._need(3)
            if not 1 <= b[2] <= 4:
                raise self._fail(3, f"DLE EOT status kind {b[2]} is not 1..4")
            return 3, StatusRequest(b[2])
        if first == FS:
            self._need(2)
            return 2, Unknown(bytes(b[:2]))
        if first in (CR, 0):
            return 1, None  # printers ignore NUL (it also pads a link resync)
        if first < 0x20 and first not in (LF, HT):
            return 1, Unknown(bytes(b[:1]))
        # plain text up to LF
        for i, byte in enumerate(b):
            if byte == LF:
                return i + 1, TextLine(bytes(b[:i]))
            if byte in (ESC, GS, DLE, FS):
                # a command interrupts the line: the text so far stays buffered in the printer
                return i, TextLine(bytes(b[:i]), ended=False)
        raise _Incomplete

    def _esc(self) -> tuple[int, Event | None]:
        b = self._buf
        self._need(2)
        op = b[1]
        if op == ord("@"):
            return 2, Init()
        if op == ord("2"):
            return 2, SetMode("ESC 2", 0)
        if op not in _ESC_ONE and op not in b"aEJd":
            return 2, Unknown(bytes(b[:2]))
        self._need(3)
        n = b[2]
        if op == ord("a"):
            if n not in (0, 1, 2, 48, 49, 50):
                raise self._fail(3, f"ESC a {n}: alignment must be 0..2 or 48..50")
            return 3, SetAlign(n % 48 if n >= 48 else n)
        if op == ord("E"):
            return 3, SetBold(bool(n & 1))
        if op == ord("J"):
            return 3, FeedDots(n)
        if op == ord("d"):
            return 3, FeedLines(n)
        return 3, SetMode(_ESC_ONE[op], n)

    def _gs(self) -> tuple[int, Event | None]:
        b = self._buf
        self._need(2)
        op = b[1]
        if op == ord("!"):
            self._need(3)
            return 3, SetMode("GS !", b[2])
        if op == ord("V"):
            self._need(3)
            m = b[2]
            if m in _CUT_WITH_FEED:
                self._need(4)
                return 4, Cut(m, b[3])
            if m in (0, 1, 48, 49):
                return 3, Cut(m)
            raise self._fail(3, f"GS V {m}: unknown cut mode")
        if op == ord("v"):
            self._need(8)
            if b[2] != ord("0"):
                return 3, Unknown(bytes(b[:3]))
            mode, width, height = b[3], b[4] | (b[5] << 8), b[6] | (b[7] << 8)
            if mode not in (0, 1, 2, 3, 48, 49, 50, 51):
                raise self._fail(8, f"GS v 0 mode {mode} is not 0..3 or 48..51")
            if width == 0 or height == 0 or width * height > MAX_RASTER_BYTES:
                raise self._fail(8, f"GS v 0 image {width} bytes x {height} rows is impossible")
            size = 8 + width * height
            self._need(size)
            return size, Raster(mode % 48 if mode >= 48 else mode, width, height, bytes(b[8:size]))
        if op == ord("("):
            self._need(5)
            fn_byte, length = b[2], b[3] | (b[4] << 8)
            size = 5 + length
            self._need(size)
            body = bytes(b[5:size])
            if fn_byte != ord("k") or length < 2 or body[0] != 49:
                return size, Unknown(bytes(b[:size]))
            fn, params = body[1], body[2:]
            if fn == 80:
                if not params:
                    raise self._fail(size, "GS ( k store without the m byte")
                return size, QrStore(params[1:])
            if fn == 81:
                return size, QrPrint()
            return size, QrSetting(fn, params)
        return 2, Unknown(bytes(b[:2]))
