"""ESC/POS byte builders: each function returns the bytes of one command.

Only the commands the project emits (and the simulator parses): ``ESC @``, ``ESC a``,
``ESC E``, ``ESC J``, ``ESC d``, ``GS !``, ``GS V``, ``GS v 0``, ``GS ( k`` (QR model 2),
``DLE EOT``.
"""

from __future__ import annotations

from drivers.escpos.raster import Bitmap

ESC = b"\x1b"
GS = b"\x1d"
DLE = b"\x10"
EOT = b"\x04"
LF = b"\n"

ALIGN = {"left": 0, "center": 1, "right": 2}


class CommandError(ValueError):
    """A command parameter is out of the range ESC/POS allows."""


def _byte(name: str, value: int, lo: int = 0, hi: int = 255) -> bytes:
    if not lo <= value <= hi:
        raise CommandError(f"{name}={value} is outside {lo}..{hi}")
    return bytes([value])


def initialize() -> bytes:
    return ESC + b"@"


def align(where: str) -> bytes:
    if where not in ALIGN:
        raise CommandError(f"alignment {where!r} is not one of {sorted(ALIGN)}")
    return ESC + b"a" + bytes([ALIGN[where]])


def bold(on: bool) -> bytes:
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def char_size(width: int = 1, height: int = 1) -> bytes:
    """``GS ! n``: character magnification 1..8 each way."""
    _byte("width", width, 1, 8)
    _byte("height", height, 1, 8)
    return GS + b"!" + bytes([((width - 1) << 4) | (height - 1)])


def feed_dots(dots: int) -> bytes:
    """``ESC J n`` feeds ``dots`` (split into several commands above 255)."""
    out = b""
    while dots > 0:
        step = min(dots, 255)
        out += ESC + b"J" + bytes([step])
        dots -= step
    return out


def feed_lines(lines: int) -> bytes:
    return ESC + b"d" + _byte("lines", lines)


def cut(partial: bool = True, feed: int = 0) -> bytes:
    """``GS V 66 n`` (partial) or ``GS V 65 n`` (full): feed ``n`` dots, then cut."""
    return GS + b"V" + (b"B" if partial else b"A") + _byte("feed", feed)


REALTIME_SECOND = frozenset({0x04, 0x05, 0x14})  # DLE EOT, DLE ENQ, DLE DC4


def without_realtime(data: bytes) -> bytes:
    """Image bytes that carry no real-time command.

    Printers act on ``DLE EOT`` (status), ``DLE ENQ`` (recover, clear buffers) and ``DLE DC4``
    (pulse, power off, clear buffers) even inside image data. Where the bytes ``10 04``, ``10
    05`` or ``10 14`` occur by chance, the ``10`` becomes ``00``: one dot less ink, and no stray
    status answer for the host to take as the answer to its own question.
    """
    if b"\x10" not in data:
        return data
    out = bytearray(data)
    for i in range(len(out) - 1):
        if out[i] == 0x10 and out[i + 1] in REALTIME_SECOND:
            out[i] = 0
    return bytes(out)


def raster(bitmap: Bitmap) -> bytes:
    """``GS v 0 0 xL xH yL yH d…``: one bitmap, normal density, with no real-time command
    hidden in its data (:func:`without_realtime`)."""
    if bitmap.height == 0:
        return b""
    x = _byte_pair("width bytes", bitmap.row_bytes, 1, 0xFFFF)
    y = _byte_pair("height", bitmap.height, 1, 0x0FFF)
    return GS + b"v0\x00" + x + y + without_realtime(bitmap.data)


def _byte_pair(name: str, value: int, lo: int, hi: int) -> bytes:
    if not lo <= value <= hi:
        raise CommandError(f"{name}={value} is outside {lo}..{hi}")
    return bytes([value & 0xFF, value >> 8])


def _qr_fn(fn: int, payload: bytes) -> bytes:
    """``GS ( k pL pH cn=49 fn params``: one QR function (``cn`` 49 is QR code)."""
    body = b"1" + bytes([fn]) + payload
    return GS + b"(k" + _byte_pair("QR block length", len(body), 2, 0xFFFF) + body


def qr_native(data: bytes, *, module: int = 4, ecc: str = "M") -> bytes:
    """``GS ( k`` QR model 2: select model, module size, error level, store, print."""
    levels = {"L": 48, "M": 49, "Q": 50, "H": 51}
    if ecc not in levels:
        raise CommandError(f"QR error level {ecc!r} is not one of L M Q H")
    if not data or len(data) > 7089:
        raise CommandError(f"QR data of {len(data)} bytes is outside 1..7089")
    return (
        _qr_fn(65, b"\x32\x00")  # model 2
        + _qr_fn(67, _byte("module size", module, 1, 16))
        + _qr_fn(69, bytes([levels[ecc]]))
        + _qr_fn(80, b"0" + data)  # store
        + _qr_fn(81, b"0")  # print
    )


def status_request(n: int) -> bytes:
    """``DLE EOT n``: 1 printer, 2 offline cause, 3 error cause, 4 paper sensor."""
    return DLE + EOT + _byte("status kind", n, 1, 4)


def resync_padding(job: bytes) -> int:
    """How many zero bytes bring a printer out of any half-received command of ``job``.

    A link lost mid-job may leave the printer inside a command waiting for data (a raster
    image, a QR store). Zeros complete such data harmlessly (white dots, ignored QR bytes)
    and outside a command a printer ignores NUL. The longest data-carrying command of the
    job bounds what can be outstanding; false matches inside image data only overestimate.
    """
    longest = 0
    start = 0
    while (at := job.find(GS + b"v0", start)) != -1 and at + 8 <= len(job):
        width, height = job[at + 4] | job[at + 5] << 8, job[at + 6] | job[at + 7] << 8
        longest = max(longest, min(8 + width * height, len(job) - at))
        start = at + 1
    start = 0
    while (at := job.find(GS + b"(k", start)) != -1 and at + 5 <= len(job):
        longest = max(longest, min(5 + (job[at + 3] | job[at + 4] << 8), len(job) - at))
        start = at + 1
    return longest
