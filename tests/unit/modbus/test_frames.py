from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.modbus.frames import (
    MbapDecoder,
    MbapFrame,
    ModbusExceptionCode,
    ModbusFrameError,
    ReadRequest,
    RtuAnswerDecoder,
    RtuFrame,
    RtuRequestDecoder,
    crc16,
    mbap_frame,
    parse_read_request,
    read_request_pdu,
    read_response_data,
    read_response_pdu,
    rtu_frame,
)


def test_crc_of_a_known_request() -> None:
    # read 10 holding registers from 0 at unit 1: 01 03 00 00 00 0A C5 CD
    assert rtu_frame(1, read_request_pdu(3, 0, 10)) == bytes.fromhex("01030000000AC5CD")
    assert crc16(b"123456789") == 0x4B37  # CRC-16/MODBUS check value


def _drain_rtu(dec: RtuRequestDecoder) -> tuple[list[RtuFrame], int]:
    frames, errors = [], 0
    while True:
        try:
            f = dec.next_frame()
        except ModbusFrameError:
            errors += 1
            continue
        if f is None:
            return frames, errors
        frames.append(f)


requests = st.builds(
    lambda u, fc, a, c: rtu_frame(u, read_request_pdu(fc, a, c)),
    st.integers(1, 247),
    st.sampled_from([3, 4]),
    st.integers(0, 0xFFFF),
    st.integers(1, 125),
)


@given(st.lists(requests, min_size=1, max_size=5))
def test_rtu_byte_by_byte_equals_all_at_once(frames: list[bytes]) -> None:
    stream = b"".join(frames)
    whole = RtuRequestDecoder()
    whole.feed(stream)
    one = RtuRequestDecoder()
    got: list[RtuFrame] = []
    for b in stream:
        one.feed(bytes((b,)))
        got.extend(_drain_rtu(one)[0])
    assert got == _drain_rtu(whole)[0]
    assert [rtu_frame(f.unit, f.pdu) for f in got] == frames


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_rtu_garbage_only_raises_frame_errors(garbage: bytes) -> None:
    dec = RtuRequestDecoder()
    for i in range(0, len(garbage), 7):
        dec.feed(garbage[i : i + 7])
        _drain_rtu(dec)  # anything but ModbusFrameError propagates and fails


@given(st.binary(max_size=60), requests)
def test_rtu_resyncs_after_a_gap(garbage: bytes, frame: bytes) -> None:
    dec = RtuRequestDecoder()
    dec.feed(garbage)
    _drain_rtu(dec)
    dec.gap()
    dec.feed(frame)
    frames, errors = _drain_rtu(dec)
    assert [rtu_frame(f.unit, f.pdu) for f in frames] == [frame]
    assert errors == 0


def test_rtu_bad_crc_is_an_error_then_the_next_frame_is_found() -> None:
    good = rtu_frame(5, read_request_pdu(4, 0x48, 2))
    bad = good[:-1] + bytes((good[-1] ^ 1,))
    dec = RtuRequestDecoder()
    dec.feed(bad + good)
    frames, errors = _drain_rtu(dec)
    assert frames == [RtuFrame(5, read_request_pdu(4, 0x48, 2))]
    assert errors >= 1


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_mbap_garbage_only_raises_frame_errors(garbage: bytes) -> None:
    dec = MbapDecoder()
    dec.feed(garbage)
    fatal = None
    while fatal is None:
        try:
            if dec.next_frame() is None:
                break
        except ModbusFrameError as exc:
            fatal = exc.fatal
    assert fatal in (None, True)  # a broken header ends the stream: it cannot resync


@given(
    st.lists(
        st.tuples(st.integers(0, 0xFFFF), st.integers(0, 255), st.binary(min_size=1, max_size=253))
    )
)
def test_mbap_byte_by_byte_round_trip(frames: list[tuple[int, int, bytes]]) -> None:
    stream = b"".join(mbap_frame(t, u, p) for t, u, p in frames)
    dec = MbapDecoder()
    got = []
    for b in stream:
        dec.feed(bytes((b,)))
        while (f := dec.next_frame()) is not None:
            got.append(f)
    assert got == [MbapFrame(t, u, p) for t, u, p in frames]


@given(st.binary(max_size=10))
def test_request_pdu_parse_never_raises_anything_else(pdu: bytes) -> None:
    try:
        req = parse_read_request(pdu)
    except (ModbusExceptionCode, ModbusFrameError):
        return
    assert read_request_pdu(req.fc, req.address, req.count) == pdu


@pytest.mark.parametrize(
    ("pdu", "code"),
    [
        (bytes((6, 0, 1, 0, 1)), 1),
        (read_request_pdu(3, 0, 126), 3),
        (read_request_pdu(4, 0xFFFF, 2), 2),
        (bytes((3, 0, 1)), 3),
    ],
)
def test_request_pdu_exceptions(pdu: bytes, code: int) -> None:
    with pytest.raises(ModbusExceptionCode) as info:
        parse_read_request(pdu)
    assert info.value.code == code


def test_request_pdu_ok() -> None:
    assert parse_read_request(read_request_pdu(4, 0x156, 2)) == ReadRequest(4, 0x156, 2)


@given(st.binary(max_size=260), st.sampled_from([3, 4]), st.integers(1, 125))
def test_read_response_data_raises_only_its_own_errors(pdu: bytes, fc: int, count: int) -> None:
    refused: int | None = None
    data = b""
    try:
        data = read_response_data(pdu, fc, count)
    except ModbusExceptionCode as exc:
        refused = exc.code
    except ModbusFrameError:
        return
    if refused is not None:
        assert (len(pdu), pdu[0], refused) == (2, fc | 0x80, pdu[1])
    else:
        assert (len(data), pdu[0], pdu[1]) == (2 * count, fc, 2 * count)


def test_read_response_data_of_a_good_answer_and_a_refusal() -> None:
    assert read_response_data(read_response_pdu(4, [1, 0xABCD]), 4, 2) == b"\x00\x01\xab\xcd"
    with pytest.raises(ModbusExceptionCode) as info:
        read_response_data(bytes((0x83, 2)), 3, 2)
    assert info.value.code == 2
    with pytest.raises(ModbusFrameError, match="does not fit FC03 x2"):
        read_response_data(read_response_pdu(3, [1]), 3, 2)


def _answer(unit: int, fc: int, words: list[int]) -> bytes:
    return rtu_frame(unit, read_response_pdu(fc, words))


@given(
    st.binary(max_size=80).map(lambda b: bytes(x for x in b if x != 7)),
    st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=30),
    st.sampled_from([3, 4]),
    st.booleans(),
)
def test_rtu_answer_is_found_after_noise_fed_whole_or_byte_by_byte(
    noise: bytes, words: list[int], fc: int, dribble: bool
) -> None:
    stream = noise + _answer(7, fc, words) + b"\x07\x04"  # then the start of something else
    dec = RtuAnswerDecoder(7, fc, len(words))
    got = None
    for chunk in [bytes((b,)) for b in stream] if dribble else [stream]:
        dec.feed(chunk)
        got = got or dec.answer()
    assert got == b"".join(w.to_bytes(2, "big") for w in words)
    assert dec.skipped == len(noise)


def test_rtu_answer_skips_another_meters_late_answer_and_a_bad_crc() -> None:
    late = _answer(2, 3, [1] * 9)  # the meter before, answering late
    bad = bytearray(_answer(7, 4, [5, 6]))
    bad[4] ^= 0x10
    dec = RtuAnswerDecoder(7, 4, 2)
    dec.feed(late + bytes(bad))
    assert dec.answer() is None
    assert dec.crc_errors == 1
    dec.feed(_answer(7, 4, [5, 6]))
    assert dec.answer() == b"\x00\x05\x00\x06"


def test_rtu_answer_refused_by_the_meter() -> None:
    dec = RtuAnswerDecoder(7, 4, 2)
    dec.feed(rtu_frame(7, bytes((0x84, 2))))
    with pytest.raises(ModbusExceptionCode) as info:
        dec.answer()
    assert info.value.code == 2


@given(st.binary(max_size=300), st.integers(1, 247), st.sampled_from([3, 4]), st.integers(1, 125))
@settings(max_examples=300)
def test_rtu_answer_garbage_raises_only_a_refusal(
    garbage: bytes, unit: int, fc: int, count: int
) -> None:
    dec = RtuAnswerDecoder(unit, fc, count)
    for b in garbage:
        dec.feed(bytes((b,)))
        try:
            got = dec.answer()
        except ModbusExceptionCode:
            continue
        assert got is None or len(got) == 2 * count
    assert dec.pending <= max(5 + 2 * count, 1)
