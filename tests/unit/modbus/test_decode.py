from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus.decode import DecodeError, decode, decode_part, encode_part, words_of
from drivers.modbus.models import ModelCatalog
from drivers.modbus.types import Part, Register
from tests.support.modbus_strategies import parts


def test_float_big_endian_words() -> None:
    words = struct.unpack(">HH", struct.pack(">f", 230.5))
    assert decode_part(Part(0, "f32"), words) == 230.5


@pytest.mark.parametrize(
    ("part", "words", "value"),
    [
        (Part(0, "u16"), (0xFFFF,), 65535),
        (Part(0, "s16"), (0xFFFF,), -1),
        (Part(0, "u32"), (0x0001, 0x0002), 0x00010002),
        (Part(0, "u32", word_order="little"), (0x0001, 0x0002), 0x00020001),
        (Part(0, "u16", byte_order="little"), (0x3412,), 0x1234),
        (Part(0, "s32", byte_order="little", word_order="little"), (0xFFFE, 0xFFFF), -257),
        (Part(0, "u64"), (0, 0, 1, 0), 65536),
        (Part(0, "u16", scale=0.1), (2305,), 230.5),
    ],
)
def test_known_values(part: Part, words: tuple[int, ...], value: float) -> None:
    assert decode_part(part, words) == pytest.approx(value)


@given(parts(), st.integers(-(2**31), 2**31 - 1))
def test_encode_then_decode_round_trips(part: Part, n: int) -> None:
    if part.type[0] == "u":
        n = abs(n) % (1 << (16 * part.width))
    if part.type == "s16":
        n = max(-32768, min(32767, n))
    value = float(n) if part.type[0] != "f" else float(struct.unpack(">f", struct.pack(">f", n))[0])
    words = encode_part(part, value)
    assert len(words) == part.width
    assert all(0 <= w <= 0xFFFF for w in words)
    assert decode_part(part, words) == value


def test_ultrad_total_adds_integer_and_millilitres() -> None:
    m = ModelCatalog().get("dynaflox-ultrad")
    # 1234 m³ and 567890 mL, both u32 most significant word first
    regs = [0, 0, 0, 1234, 0x0008, 0xAA52] + [0] * 12
    values, errors = decode(m.registers, words_of(3, 0, regs))
    assert errors == []
    got = {v.quantity: v.value for v in values}
    assert got["volume"] == pytest.approx(1234.56789)


def test_missing_and_non_finite_values_are_errors_not_exceptions() -> None:
    reg_a = Register("a", 4, (Part(0, "f32"),))
    reg_b = Register("b", 4, (Part(10, "f32"),))
    nan = struct.unpack(">HH", struct.pack(">f", math.nan))
    values, errors = decode([reg_a, reg_b], words_of(4, 0, nan))
    assert values == []
    assert [(e.quantity, "not a finite" in e.reason or "not read" in e.reason) for e in errors] == [
        ("a", True),
        ("b", True),
    ]
    assert isinstance(errors[0], DecodeError)


@given(st.lists(parts(max_address=60), min_size=1, max_size=8), st.data())
def test_block_decoder_agrees_with_the_plain_decoder(ps: list[Part], data: st.DataObject) -> None:
    from drivers.modbus.decode import BlockDecoder

    regs, used = [], set()
    for i, p in enumerate(ps):
        span = set(range(p.address, p.end))
        if span & used:
            continue
        used |= span
        regs.append(Register(f"q{i}", 3, (p,)))
    requests = [(3, 0, 32), (3, 32, 40)]
    regs = [r for r in regs if r.parts[0].end <= 32 or r.parts[0].address >= 32]
    blocks = [
        data.draw(st.lists(st.integers(0, 0xFFFF), min_size=n, max_size=n)) for _, _, n in requests
    ]
    words = {**words_of(3, 0, blocks[0]), **words_of(3, 32, blocks[1])}
    plain, plain_errors = decode(regs, words)
    wire = [struct.pack(f">{len(b)}H", *b) for b in blocks]
    fast, fast_errors = BlockDecoder(regs, requests).decode(wire)
    assert [(v.quantity, v.value, v.unit) for v in plain] == fast
    assert [e.quantity for e in plain_errors] == [e.quantity for e in fast_errors]


def test_block_decoder_refuses_answers_of_the_wrong_size() -> None:
    from drivers.modbus.decode import BlockDecoder

    decoder = BlockDecoder([Register("a", 4, (Part(0, "f32"),))], [(4, 0, 2)])
    assert decoder.decode([struct.pack(">f", 1.5)]) == ([("a", 1.5, "")], [])
    with pytest.raises(ValueError, match=r"answers of \[2\] bytes for requests of \[4\]"):
        decoder.decode([b"\x00\x01"])
