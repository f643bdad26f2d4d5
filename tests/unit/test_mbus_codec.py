import contextlib
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.mbus import datatypes
from drivers.mbus.errors import ChecksumError, LocalProtocolError, MbusError, RemoteProtocolError
from drivers.mbus.frames import (
    NEED_DATA,
    Ack,
    FrameParser,
    LongFrame,
    ShortFrame,
    encode,
)
from drivers.mbus.master import MbusMaster, ReqUd2, RspUd, SelectSecondary, SndNke
from drivers.mbus.records import Header, decode_telegram, encode_header, encode_record
from tests.support.serial_strategies import chunkings, mutated

# The water meter example of the M-Bus documentation (m-bus.com, "RSP_UD"): ID 12345678,
# manufacturer PAD, volume 12.565 m³, max flow 113 L/h in storage 5, 218.37 kWh tariff 2 subunit 1.
EXAMPLE = bytes.fromhex(
    "681f1f680802727856341224400107550000000313153100da023b13018b60043718021816"
)


def parse_all(chunks: list[bytes]) -> list[object]:
    parser, events = FrameParser(), []
    for chunk in chunks:
        parser.receive_data(chunk)
        while (event := parser.next_event()) is not NEED_DATA:
            events.append(event)
    return events


def test_short_frames() -> None:
    assert encode(ShortFrame(c=0x40, a=5)) == bytes.fromhex("1040054516")
    assert encode(Ack()) == b"\xe5"
    assert parse_all([bytes.fromhex("e5107b058016")]) == [Ack(), ShortFrame(c=0x7B, a=5)]
    assert encode(ShortFrame(c=0x7B, a=5)) == bytes.fromhex("107b058016")


def test_documented_example_decodes() -> None:
    (frame,) = parse_all([EXAMPLE])
    assert isinstance(frame, LongFrame)
    assert (frame.c, frame.a, frame.ci) == (0x08, 0x02, 0x72)
    telegram = decode_telegram(frame.data)
    assert telegram.header == Header(
        id=12345678, manufacturer="PAD", version=1, medium=7, access_no=0x55, status=0
    )
    assert telegram.header.medium_name == "water"
    volume, max_flow, energy = telegram.records
    assert (volume.quantity, volume.unit, volume.value) == ("volume", "m3", Decimal("12.565"))
    assert max_flow.function == "maximum"
    assert max_flow.storage == 5
    assert max_flow.value == Decimal("0.113")
    assert (energy.quantity, energy.unit, energy.value) == ("energy", "Wh", Decimal("218370"))
    assert (energy.tariff, energy.subunit, energy.storage) == (2, 1, 0)
    assert encode(frame) == EXAMPLE


def test_long_frame_checksum_and_shape_errors() -> None:
    bad = EXAMPLE[:-2] + bytes([EXAMPLE[-2] ^ 1]) + EXAMPLE[-1:]
    with pytest.raises(ChecksumError, match="checksum") as info:
        parse_all([bad])
    assert info.value.kind == "crc"
    with pytest.raises(RemoteProtocolError, match="header"):
        parse_all([b"\x68\x1f\x1e\x68"])
    with pytest.raises(RemoteProtocolError, match="starts no"):
        parse_all([b"\x42"])
    with pytest.raises(RemoteProtocolError, match="not 0x16"):
        parse_all([EXAMPLE[:-1] + b"\x17"])


@given(st.data())
def test_byte_by_byte_and_any_chunking_give_the_same_frames(data: st.DataObject) -> None:
    stream = b"\xe5" + EXAMPLE + bytes.fromhex("107b058016")
    whole = parse_all([stream])
    assert len(whole) == 3
    assert parse_all([bytes([b]) for b in stream]) == whole
    assert parse_all(data.draw(chunkings(stream))) == whole


def test_fcb_toggles_per_answer_and_repeats_after_a_loss() -> None:
    master = MbusMaster()
    assert master.send(SndNke(5)) == bytes.fromhex("1040054516")
    master.receive_data(b"\xe5")
    assert master.next_event() == Ack()
    first = master.send(ReqUd2(5))
    assert first[1] == 0x7B  # FCB set after SND_NKE
    assert master.send(ReqUd2(5)) == first  # no answer seen: a repeat keeps the FCB
    answer = encode(LongFrame(c=0x08, a=5, ci=0x72, data=EXAMPLE[7:-2]))
    master.receive_data(answer)
    event = master.next_event()
    assert isinstance(event, RspUd)
    assert event.telegram.header.id == 12345678
    assert master.send(ReqUd2(5))[1] == 0x5B  # toggled


def test_master_refuses_wrong_answers() -> None:
    master = MbusMaster()
    master.send(ReqUd2(5))
    master.receive_data(b"\xe5")
    with pytest.raises(RemoteProtocolError, match="RSP_UD"):
        master.next_event()
    master.send(ReqUd2(7))
    master.receive_data(EXAMPLE)  # answered by address 2
    with pytest.raises(RemoteProtocolError, match="address 2"):
        master.next_event()
    with pytest.raises(LocalProtocolError):
        master.send(SndNke(251))


def test_secondary_selection_with_wildcards() -> None:
    header = Header(id=12345678, manufacturer="PAD", version=1, medium=7, access_no=0, status=0)
    select = SelectSecondary("1234FFFF", manufacturer="PAD")
    wire = MbusMaster().send(select)
    (frame,) = parse_all([wire])
    assert isinstance(frame, LongFrame)
    assert (frame.c, frame.a, frame.ci) == (0x53, 0xFD, 0x52)
    decoded = SelectSecondary.decode_data(frame.data)
    assert decoded == select
    assert decoded.matches(header)
    assert not SelectSecondary("1235FFFF").matches(header)
    assert not SelectSecondary("FFFFFFFF", medium=4).matches(header)
    with pytest.raises(LocalProtocolError):
        SelectSecondary("12x4FFFF").encode_data()


def test_data_types_round_trip() -> None:
    assert datatypes.decode_bcd(datatypes.encode_bcd(12345678, 4)) == 12345678
    assert datatypes.decode_bcd(datatypes.encode_bcd(-1234, 3)) == -1234
    when = datetime(2026, 3, 2, 8, 5)
    decoded = datatypes.decode_type_f(datatypes.encode_type_f(when, summer=True))
    assert decoded == datatypes.MeterDateTime(when, summer=True)
    assert datatypes.decode_type_g(datatypes.encode_type_g(date(2031, 12, 31))) == date(
        2031, 12, 31
    )
    assert datatypes.decode_type_f(b"\x80\x00\x00\x00") is None  # invalid flag
    assert datatypes.decode_manufacturer(datatypes.encode_manufacturer("KAM")) == "KAM"
    with pytest.raises(RemoteProtocolError, match="BCD"):
        datatypes.decode_bcd(b"\x1a")


def test_records_round_trip_with_storage_tariff_subunit() -> None:
    header = Header(id=87654321, manufacturer="MCS", version=2, medium=4, access_no=9, status=0)
    when = datetime(2026, 1, 31, 23, 59)
    data = (
        encode_header(header)
        + encode_record(b"\x06", 4321, "int32")
        + encode_record(b"\x06", 1234, "int32", storage=13, tariff=2, subunit=1)
        + encode_record(b"\x2b", 5200, "bcd6")
        + encode_record(b"\x5a", 653, "bcd4")
        + encode_record(b"\x6d", datatypes.encode_type_f(when), "datetime")
        + encode_record(b"\x78", 87654321, "bcd8")
        + encode_record(b"\xfd\x17", 3, "int16")
        + b"\x1f\xaa\xbb"
    )
    telegram = decode_telegram(data)
    assert telegram.header == header
    assert telegram.more_follows
    assert telegram.manufacturer_data == b"\xaa\xbb"
    energy, stored, power, flow_t, clock, fab, errors = telegram.records
    assert energy.value == Decimal(4321000)  # kWh as Wh
    assert (stored.storage, stored.tariff, stored.subunit) == (13, 2, 1)
    assert (power.quantity, power.value) == ("power", Decimal(5200))
    assert (flow_t.quantity, flow_t.unit, flow_t.value) == (
        "flow_temperature",
        "degC",
        Decimal("65.3"),
    )
    assert clock.value == datatypes.MeterDateTime(when)
    assert (fab.quantity, fab.value) == ("fabrication_no", Decimal(87654321))
    assert (errors.quantity, errors.value) == ("error_flags", Decimal(3))


def test_cut_records_are_protocol_errors() -> None:
    with pytest.raises(RemoteProtocolError, match="cut short"):
        decode_telegram(EXAMPLE[7:-4])
    with pytest.raises(RemoteProtocolError, match="header"):
        decode_telegram(b"\x01\x02")


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_garbage_only_raises_the_codecs_own_errors(data: bytes) -> None:
    with contextlib.suppress(MbusError):
        parse_all([data])
    with contextlib.suppress(MbusError):
        decode_telegram(data)


@settings(max_examples=300)
@given(mutated(EXAMPLE))
def test_corrupted_answers_only_raise_the_codecs_own_errors(data: bytes) -> None:
    master = MbusMaster()
    master.send(ReqUd2(2))
    master.receive_data(data)
    with contextlib.suppress(MbusError):
        master.next_event()


@given(st.binary(min_size=12, max_size=240))
def test_random_application_data_in_a_valid_frame(data: bytes) -> None:
    master = MbusMaster()
    master.send(ReqUd2(1))
    master.receive_data(encode(LongFrame(c=0x08, a=1, ci=0x72, data=data)))
    try:
        event = master.next_event()
    except MbusError:
        return
    assert isinstance(event, RspUd)
