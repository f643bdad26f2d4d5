import contextlib
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.iec62056 import obis
from drivers.iec62056.codec import (
    NEED_DATA,
    AckOptionSelect,
    DataBlock,
    IecReader,
    RepeatRequest,
    SignOn,
    State,
    WakeUp,
)
from drivers.iec62056.datasets import DataSet, Value, format_lines, parse_line
from drivers.iec62056.errors import (
    BccError,
    IecError,
    LocalProtocolError,
    ParityError,
    RemoteProtocolError,
)
from drivers.iec62056.frames import (
    Identification,
    apply_parity,
    bcc,
    encode_data_block,
    encode_identification,
)
from drivers.iec62056.meter import (
    Garbled,
    MeterCodec,
    Nak,
    NeedData,
    OptionSelect,
    SignOnRequest,
)
from tests.support.serial_strategies import chunkings, datasets, mutated

IDENT = b"/LGz5\\2ZMD3104407.B32\r\n"
LINES = (
    "0.0.0(12345678)\r\n"
    "1.8.0(012345.678*kWh)\r\n"
    "1.8.1(000100.5*kWh)1.8.2(2000*Wh)\r\n"
    "2.8.0(000000.000*kWh)\r\n"
    "1.6.0(00.512*kW)(24-01-15 10:30)\r\n"
    "32.7.0(230.1*V)\r\n"
    "0.9.1(143015)\r\n"
    "0.9.2(1240115)\r\n"
)
BLOCK = encode_data_block(LINES)


def run(reader: IecReader, chunks: list[bytes]) -> list[object]:
    events = []
    for chunk in chunks:
        reader.receive_data(chunk)
        while (event := reader.next_event()) is not NEED_DATA:
            events.append(event)
            if isinstance(event, Identification):
                reader.send(AckOptionSelect())
    return events


def signed_on(**kwargs: object) -> IecReader:
    reader = IecReader(**kwargs)  # type: ignore[arg-type]
    reader.send(SignOn())
    return reader


def test_sign_on_plain_and_addressed() -> None:
    assert IecReader().send(SignOn()) == b"/?!\r\n"
    assert IecReader(address="12345678").send(SignOn()) == b"/?12345678!\r\n"
    with pytest.raises(ValueError, match="device address"):
        IecReader(address="12!4")


def test_wake_up_only_before_sign_on() -> None:
    reader = IecReader()
    assert reader.send(WakeUp(count=3)) == b"\x00\x00\x00"
    reader.send(SignOn())
    with pytest.raises(LocalProtocolError):
        reader.send(WakeUp())


def test_identification_fields() -> None:
    reader = signed_on()
    reader.receive_data(IDENT)
    ident = reader.next_event()
    assert ident == Identification(maker="LGz", baud_char="5", ident="ZMD3104407.B32", enhanced="2")
    assert isinstance(ident, Identification)
    assert ident.baudrate == 9600
    assert ident.short_reaction
    assert ident.reaction_time_s == 0.02
    assert not Identification("ABC", "0", "x").short_reaction


def test_ack_switches_to_offered_speed_capped_by_reader() -> None:
    reader = signed_on()
    reader.receive_data(IDENT)
    reader.next_event()
    assert reader.send(AckOptionSelect()) == b"\x06050\r\n"
    assert reader.data_baudrate == 9600
    slow = signed_on(max_baud=2400)
    slow.receive_data(IDENT)
    slow.next_event()
    assert slow.send(AckOptionSelect()) == b"\x06030\r\n"
    assert slow.data_baudrate == 2400


def test_ack_faster_than_offered_is_refused() -> None:
    reader = signed_on()
    reader.receive_data(b"/ABC2meter\r\n")
    reader.next_event()
    with pytest.raises(LocalProtocolError, match="faster"):
        reader.send(AckOptionSelect(baud_char="5"))


def test_full_readout_parses_every_data_set() -> None:
    events = run(signed_on(), [IDENT, BLOCK])
    assert isinstance(events[1], DataBlock)
    block = events[1]
    assert block.size == len(BLOCK)
    by_address = {d.address: d for d in block.datasets}
    assert by_address["1.8.0"].values == (Value("012345.678", "kWh"),)
    assert by_address["1.8.2"].values == (Value("2000", "Wh"),)
    assert by_address["1.6.0"].values == (Value("00.512", "kW"), Value("24-01-15 10:30"))
    found = {v.quantity: v for v in obis.values(block.datasets)}
    assert found["energy_import"].value == Decimal("12345.678")
    assert found["energy_import_t2"].value == Decimal("2.000")  # Wh → kWh
    assert found["energy_import_t2"].unit == "kWh"
    assert found["voltage_l1"].unit == "V"
    assert found["power_import_max"].at == datetime(2024, 1, 15, 10, 30)
    assert found["energy_import"].at is None
    assert "energy_export" in found
    assert obis.meter_clock(block.datasets) == datetime(2024, 1, 15, 14, 30, 15)
    assert obis.serial_number(block.datasets) == "12345678"


def test_echo_of_request_and_ack_is_skipped() -> None:
    events = run(signed_on(), [b"/?!\r\n" + IDENT, b"\x06050\r\n" + BLOCK])
    assert [type(e) for e in events] == [Identification, DataBlock]


@given(st.data())
def test_byte_by_byte_and_any_chunking_give_the_same_events(data: st.DataObject) -> None:
    whole = run(signed_on(), [IDENT + BLOCK])
    assert run(signed_on(), [bytes([b]) for b in IDENT + BLOCK]) == whole
    assert run(signed_on(), data.draw(chunkings(IDENT + BLOCK))) == whole


def test_bad_bcc_is_a_bcc_error() -> None:
    bad = BLOCK[:-1] + bytes([BLOCK[-1] ^ 0x01])
    with pytest.raises(BccError, match="BCC") as info:
        run(signed_on(), [IDENT, bad])
    assert info.value.kind == "bcc"


def test_nak_after_a_bad_bcc_asks_for_the_block_again() -> None:
    reader = signed_on()
    reader.receive_data(IDENT)
    reader.next_event()
    reader.send(AckOptionSelect())
    reader.receive_data(BLOCK[:-1] + bytes([BLOCK[-1] ^ 0x01]))
    with pytest.raises(BccError):
        reader.next_event()
    assert reader.send(RepeatRequest()) == b"\x15"
    reader.receive_data(BLOCK)
    assert isinstance(reader.next_event(), DataBlock)
    with pytest.raises(LocalProtocolError):
        reader.send(RepeatRequest())  # the readout is done


def test_bcc_covers_stx_to_etx() -> None:
    assert BLOCK[0] == 0x02
    assert BLOCK[-2] == 0x03
    assert bcc(BLOCK[1:-1]) == BLOCK[-1]


def test_parity_bits_strip_or_check() -> None:
    wire = apply_parity(IDENT + BLOCK)
    assert wire != IDENT + BLOCK
    assert run(signed_on(parity="check"), [wire]) == run(signed_on(), [IDENT + BLOCK])
    assert run(signed_on(parity="strip"), [wire]) == run(signed_on(), [IDENT + BLOCK])
    broken = bytearray(wire)
    broken[3] ^= 0x80
    with pytest.raises(ParityError, match="byte 3"):
        run(signed_on(parity="check"), [bytes(broken)])


def test_garbage_before_identification() -> None:
    with pytest.raises(RemoteProtocolError, match="expected '/'"):
        run(signed_on(), [b"xyz" + IDENT])


def test_failed_readout_stays_failed() -> None:
    reader = signed_on()
    reader.receive_data(b"?")
    with pytest.raises(RemoteProtocolError):
        reader.next_event()
    assert reader.state is State.ERROR
    with pytest.raises(RemoteProtocolError):
        reader.next_event()


@pytest.mark.parametrize(
    ("line", "message"),
    [("1.8.0(12", "without"), ("1.8.0", "has no"), ("1.8.0(1*)", "unit"), ("a(b*c*d)", "two")],
)
def test_bad_data_lines(line: str, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        parse_line(line, 3)


def test_number_and_unit_checked_where_known() -> None:
    with pytest.raises(RemoteProtocolError, match="not a number"):
        obis.values((DataSet("1.8.0", (Value("1e5", "kWh"),)),))
    with pytest.raises(RemoteProtocolError, match="unexpected unit"):
        obis.values((DataSet("1.8.0", (Value("1", "m3"),)),))
    assert obis.values((DataSet("1.8.0&04", (Value("1", "kWh"),)),)) == []  # billing period
    with pytest.raises(RemoteProtocolError, match="time"):
        obis.values((DataSet("1.6.0", (Value("1", "kW"), Value("24-13-01 10:00"))),))
    (counted,) = obis.values((DataSet("1.6.0", (Value("1", "kW"), Value("07"))),))
    assert counted.at is None  # a second field that is no time is left alone


@given(st.lists(datasets, max_size=12))
def test_data_blocks_round_trip(sets: list[DataSet]) -> None:
    events = run(signed_on(), [IDENT, encode_data_block(format_lines(sets))])
    block = events[-1]
    assert isinstance(block, DataBlock)
    assert [(d.address, d.values) for d in block.datasets] == [(d.address, d.values) for d in sets]


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_garbage_only_raises_the_codecs_own_errors(data: bytes) -> None:
    reader = signed_on()
    with contextlib.suppress(IecError):
        run(reader, [data])


@settings(max_examples=300)
@given(mutated(IDENT + BLOCK), st.sampled_from(["none", "strip", "check"]))
def test_corrupted_readouts_only_raise_the_codecs_own_errors(data: bytes, parity: str) -> None:
    try:
        events = run(signed_on(parity=parity), [data])
    except IecError:
        return
    for event in events:
        if isinstance(event, DataBlock):
            try:
                obis.values(event.datasets)
                obis.meter_clock(event.datasets)
            except IecError:
                pass


def test_meter_codec_reads_requests_and_skips_noise() -> None:
    codec = MeterCodec()
    for byte in b"\x00\x00/?1234!\r\nzz\x06051\r\n\x15":
        codec.receive_data(bytes([byte]))
    events = []
    while not isinstance(event := codec.next_event(), NeedData):
        events.append(event)
    assert events == [
        SignOnRequest("1234"),
        Garbled(b"zz"),
        OptionSelect(protocol_char="0", baud_char="5", mode_char="1"),
        Nak(),
    ]


def test_identification_round_trip() -> None:
    ident = Identification("MCs", "4", "SIM-1", enhanced="")
    reader = signed_on()
    reader.receive_data(encode_identification(ident))
    assert reader.next_event() == ident


@given(st.binary(max_size=200))
def test_meter_codec_never_raises(data: bytes) -> None:
    codec = MeterCodec()
    codec.receive_data(data)
    for _ in range(len(data) + 2):
        codec.next_event()
