"""The simulator's ESC/POS parser, fed one byte at a time and fuzzed."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.escpos import commands as cmd
from drivers.escpos.raster import Bitmap
from simulators.printer import parser as p

SAMPLE = (
    cmd.initialize()
    + cmd.align("center")
    + cmd.bold(True)
    + b"Hello\n"
    + cmd.char_size(2, 2)
    + cmd.raster(Bitmap(16, 2, b"\xff\x00\x0f\xf0"))
    + cmd.feed_dots(300)
    + cmd.qr_native(b"M2C1*x")
    + cmd.status_request(4)
    + b"\x1b!\x08\x1b-\x01\x1bt\x10"
    + cmd.feed_lines(3)
    + cmd.cut(partial=False, feed=5)
)


def _events(data: bytes, step: int) -> list[p.Event]:
    parser = p.EscPosParser()
    out: list[p.Event] = []
    for i in range(0, len(data), step):
        parser.feed(data[i : i + step])
        out.extend(parser.events())
    return out


def test_every_command_we_emit_is_understood() -> None:
    events = _events(SAMPLE, len(SAMPLE))
    assert events == [
        p.Init(),
        p.SetAlign(1),
        p.SetBold(True),
        p.TextLine(b"Hello"),
        p.SetMode("GS !", 0x11),
        p.Raster(0, 2, 2, b"\xff\x00\x0f\xf0"),
        p.FeedDots(255),
        p.FeedDots(45),
        p.QrSetting(65, b"2\x00"),
        p.QrSetting(67, b"\x04"),
        p.QrSetting(69, b"1"),
        p.QrStore(b"M2C1*x"),
        p.QrPrint(),
        p.StatusRequest(4),
        p.SetMode("ESC !", 8),
        p.SetMode("ESC -", 1),
        p.SetMode("ESC t", 16),
        p.FeedLines(3),
        p.Cut(65, 5),
    ]


def test_byte_by_byte_gives_the_same_events() -> None:
    assert _events(SAMPLE, 1) == _events(SAMPLE, len(SAMPLE))


def test_unknown_commands_are_reported_not_fatal() -> None:
    events = _events(b"\x1bz\x1d\xff\x1c.\x07ok\n", 1)
    assert events == [
        p.Unknown(b"\x1bz"),
        p.Unknown(b"\x1d\xff"),
        p.Unknown(b"\x1c."),
        p.Unknown(b"\x07"),
        p.TextLine(b"ok"),
    ]


def test_impossible_raster_is_our_error_and_parsing_goes_on() -> None:
    parser = p.EscPosParser()
    parser.feed(b"\x1dv0\x00\x00\x00\x05\x00after\n")
    with pytest.raises(p.EscPosParseError, match="impossible") as info:
        list(parser.events())
    assert info.value.offset == 0
    assert list(parser.events()) == [p.TextLine(b"after")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=40), max_size=30), st.integers(1, 7))
def test_fuzz_only_our_error(chunks: list[bytes], step: int) -> None:
    data = b"".join(chunks)
    parser = p.EscPosParser()
    for i in range(0, len(data), step):
        parser.feed(data[i : i + step])
        while True:
            try:
                for _ in parser.events():
                    pass
                break
            except p.EscPosParseError:
                continue
    parser.flush_text()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_after_valid_prefix(noise: bytes) -> None:
    from simulators.printer.machine import PrinterMachine

    machine = PrinterMachine(384)
    for byte in SAMPLE + noise:
        machine.receive(bytes([byte]))
    machine.flush()
    assert machine.bytes_received == len(SAMPLE) + len(noise)
