"""The Modbus TCP answer decoder: nothing broken is handed out as an answer."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus.frames import ModbusFrameError, exception_pdu, mbap_frame, read_response_pdu
from drivers.modbus.mbap import MbapAnswer, MbapAnswerDecoder, StreamBroken


def answer(tid: int, unit: int, words: list[int], fc: int = 4) -> bytes:
    return mbap_frame(tid, unit, read_response_pdu(fc, words))


def decode(
    stream: bytes, chunks: list[int], issued: set[int]
) -> tuple[list[MbapAnswer], StreamBroken | None]:
    """Feed ``stream`` cut at ``chunks``; the answers until the stream broke, and why."""
    dec = MbapAnswerDecoder(issued.__contains__)
    got: list[MbapAnswer] = []
    cuts = [*sorted({c for c in chunks if 0 < c < len(stream)}), len(stream)]
    start = 0
    try:
        for cut in cuts:
            dec.feed(stream[start:cut])
            start = cut
            while (a := dec.next_answer()) is not None:
                got.append(a)
    except StreamBroken as exc:
        return got, exc
    return got, None


words_st = st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=125)


@given(
    st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 255), words_st), max_size=5),
    st.lists(st.integers(0, 1300)),
)
def test_good_answers_in_any_chunks_come_out_whole(
    frames: list[tuple[int, int, list[int]]], chunks: list[int]
) -> None:
    stream = b"".join(answer(t, u, w) for t, u, w in frames)
    got, broken = decode(stream, chunks, set())
    assert broken is None
    assert got == [MbapAnswer(t, u, 4, struct.pack(f">{len(w)}H", *w)) for t, u, w in frames]


def test_a_refusal_is_an_answer_with_its_code() -> None:
    got, broken = decode(mbap_frame(9, 3, exception_pdu(4, 2)), [], {9})
    assert broken is None
    assert got == [MbapAnswer(9, 3, 0x84, b"\x02")]
    assert got[0].refused


@given(
    st.integers(0, 75),  # registers of the cut answer that arrive (its header always does)
    st.lists(st.integers(0, 400)),
    st.integers(1, 125),
)
def test_an_answer_cut_short_is_never_handed_out(kept: int, chunks: list[int], n: int) -> None:
    """The issue's case: one answer cut after (some of) its data, the next completes it."""
    cut = answer(0x0102, 3, list(range(76)))
    kept_bytes = 9 + 2 * kept
    nxt = answer(0x0103, 4, [0] * n)
    more = b"".join(answer(0x0104 + i, 5, [0x4366] * 10) for i in range(8))
    stream = cut[:kept_bytes] + nxt + more  # longer than the cut answer announced
    whole = len(cut)
    if whole - kept_bytes < 8:
        # cut less than a header short: caught when the next header's first 6 bytes came
        # with the cut answer's last bytes (a segment ending exactly there is out of reach)
        chunks = [c for c in chunks if not whole <= c < kept_bytes + 6]
    got, broken = decode(stream, chunks, set(range(0x0102, 0x010C)))
    assert [a.transaction for a in got] == []
    assert broken is not None
    assert broken.suspect == 0x0102
    assert "cut short" in broken.reason


@pytest.mark.parametrize("delta", [-4, -2, 2, 4])
def test_a_wrong_mbap_length_breaks_the_stream_at_its_header(delta: int) -> None:
    good = answer(7, 1, [1, 2, 3])
    bad = good[:4] + struct.pack(">H", len(good) - 6 + delta) + good[6:]
    got, broken = decode(answer(6, 1, [5]) + bad + answer(8, 1, [9]), [], {6, 7, 8})
    assert [a.transaction for a in got] == [6]  # the answer before it stands
    assert broken is not None
    assert broken.suspect == 7
    assert "byte count" in broken.reason


def test_garbage_after_a_good_answer_breaks_the_stream_without_taking_it_back() -> None:
    got, broken = decode(answer(1, 1, [7]) + b"\x00\x00\x00\x00\x00\x00\x00\x00\x00", [], {1, 2})
    assert [a.transaction for a in got] == [1]
    assert broken is not None
    assert broken.suspect is None
    assert "MBAP length 0" in broken.reason


def test_a_zero_protocol_header_of_an_unknown_id_is_not_blamed_on_it() -> None:
    _, broken = decode(b"\x12\x34\x00\x00\x00\x07\x01\x04\x02", [], {1})
    assert broken is not None
    assert broken.suspect is None


@given(st.binary(max_size=300), st.lists(st.integers(0, 300)))
def test_garbage_ends_only_in_the_decoders_own_error(garbage: bytes, chunks: list[int]) -> None:
    try:
        decode(garbage, chunks, set(range(0, 0x10000, 3)))
    except ModbusFrameError:  # pragma: no cover - decode catches StreamBroken itself
        raise AssertionError("StreamBroken escaped") from None


def test_after_a_break_the_decoder_holds_nothing() -> None:
    dec = MbapAnswerDecoder(lambda tid: True)
    dec.feed(b"\x00\x01\x00\x01\x00\x05\x01\x04\x02\x00\x00")
    with pytest.raises(StreamBroken):
        dec.next_answer()
    assert dec.pending == 0


def test_a_cut_answer_is_found_when_the_next_header_comes_not_when_its_length_is_filled() -> None:
    """One request at a time: the next answer (13 bytes) is far from filling the cut one's 161."""
    cut = answer(0x0010, 3, list(range(76)))[:9]
    got, broken = decode(cut + answer(0x0011, 1, [1, 2]), [9], {0x0010, 0x0011})
    assert got == []
    assert broken is not None
    assert broken.suspect == 0x0010
