from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from contract import mqtt


def _reading(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "meter_id": "sdm630-1",
        "quantity": "energy_import",
        "value": 1.5,
        "unit": "kWh",
        "ts": "2026-11-23T01:02:03+07:00",
    }
    base.update(over)
    return base


def test_batch_roundtrip_keeps_the_meter_timestamp_in_utc() -> None:
    batch = mqtt.ReadingsBatch(
        gateway_id="gw-1",
        seq=7,
        sent_at=datetime.now(UTC),
        readings=(mqtt.Reading.model_validate(_reading()),),
    )
    again = mqtt.ReadingsBatch.model_validate_json(batch.model_dump_json())
    assert again == batch
    assert again.readings[0].ts == datetime(2026, 11, 22, 18, 2, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ts", "2026-11-23T01:02:03"),
        ("value", float("nan")),
        ("meter_id", "a b"),
        ("quality", ["bogus"]),
        ("quantity", "Energy Import"),
    ],
)
def test_bad_reading_fields_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        mqtt.Reading.model_validate(_reading(**{field: value}))
    assert field in str(info.value)


def test_topics_roundtrip_and_reject_foreign_topics() -> None:
    t = mqtt.topic("gw-1", "readings")
    assert t == "m2c/v1/gw/gw-1/readings"
    assert mqtt.parse_topic(t) == ("gw-1", "readings")
    assert (
        mqtt.topic_filter("readings", share_group="ingest") == "$share/ingest/m2c/v1/gw/+/readings"
    )
    for bad in ["m2c/v2/gw/x/readings", "m2c/v1/gw/x/nope", "m2c/v1/gw/a b/readings", "x"]:
        with pytest.raises(ValueError, match="topic"):
            mqtt.parse_topic(bad)


def test_offsets_are_normalised_not_lost() -> None:
    r = mqtt.Reading.model_validate(
        _reading(ts=datetime(2026, 1, 1, 7, tzinfo=timezone(timedelta(hours=7))))
    )
    assert r.ts.tzinfo is UTC
    assert r.ts.hour == 0


def test_a_trusted_reading_equals_the_validated_one() -> None:
    ts = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    fields = {
        "meter_id": "sdm630-1",
        "quantity": "energy_import",
        "value": 1234.5,
        "unit": "kWh",
        "ts": ts,
        "quality": ("time_from_gateway", "stale"),
    }
    checked = mqtt.Reading(**fields)  # type: ignore[arg-type]
    fast = mqtt.Reading.trusted(**fields)  # type: ignore[arg-type]
    assert fast == checked
    assert hash(fast) == hash(checked)
    assert fast.model_dump_json() == checked.model_dump_json()
    assert fast.model_fields_set == checked.model_fields_set
    assert mqtt.Reading.model_validate_json(fast.model_dump_json()) == checked
    with pytest.raises(ValidationError):  # still frozen
        fast.value = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("ts", "9999-12-31T23:00:00-05:00", "overflows"),
        ("ts", "0001-01-01T00:00:00+01:00", "overflows"),
        ("ts", "1970-01-01T00:00:00Z", "outside"),
        ("ts", "2100-01-01T00:00:00Z", "outside"),
        ("unit", "k\x00Wh", "control character"),
        ("unit", "k\x1bWh", "control character"),
        ("unit", "x" * 17, "at most 16"),
        ("quality", ["stale"] * 7, "at most 6"),
        ("value", "Infinity", "finite"),
        ("value", 1e400, "finite"),
        ("meter_id", "m\x00", "meter id"),
    ],
)
def test_reading_bounds_are_refused_with_a_reason(field: str, value: object, says: str) -> None:
    with pytest.raises(ValidationError) as info:
        mqtt.Reading.model_validate(_reading(**{field: value}))
    assert field in str(info.value)
    assert says in str(info.value)


def test_sequence_numbers_fit_63_bits_and_batches_are_bounded() -> None:
    now = datetime.now(UTC)
    one = (mqtt.Reading.model_validate(_reading()),)
    mqtt.ReadingsBatch(gateway_id="g", seq=mqtt.MAX_SEQ, sent_at=now, readings=one)
    with pytest.raises(ValidationError, match="seq"):
        mqtt.ReadingsBatch(gateway_id="g", seq=2**63, sent_at=now, readings=one)
    with pytest.raises(ValidationError, match="readings"):
        mqtt.ReadingsBatch(
            gateway_id="g", seq=0, sent_at=now, readings=one * (mqtt.MAX_BATCH_READINGS + 1)
        )
    with pytest.raises(ValidationError, match="seqs"):
        mqtt.IngestAck(gateway_id="g", channel="readings", seqs=((0, 2**63),))


def test_free_text_fields_refuse_nul_and_their_column_size() -> None:
    ts = datetime.now(UTC)
    with pytest.raises(ValidationError, match="subject"):
        mqtt.Event(gateway_id="g", kind="k", ts=ts, subject="s\x00")
    with pytest.raises(ValidationError, match="subject"):
        mqtt.Event(gateway_id="g", kind="k", ts=ts, subject="s" * 129)
    with pytest.raises(ValidationError, match="command_id"):
        mqtt.CommandReply(gateway_id="g", command_id="c" * 65, ok=True, ts=ts)
    with pytest.raises(ValidationError, match="reason"):
        mqtt.CommandReply(gateway_id="g", command_id="c", ok=True, ts=ts, reason="a\x00")
    reply = mqtt.CommandReply(gateway_id="g", command_id="", ok=False, ts=ts, reason="a\nb")
    assert reply.reason == "a\nb"  # free text keeps its lines
    with pytest.raises(ValidationError, match="software"):
        mqtt.GatewayStatus(gateway_id="g", state="online", ts=ts, software="\ud800")


def test_ack_ranges_and_topic() -> None:
    assert mqtt.ranges([9, 1, 2, 3, 3, 5]) == ((1, 3), (5, 5), (9, 9))
    assert mqtt.ranges([]) == ()
    assert mqtt.topic("gw-1", "ack") == "m2c/v1/gw/gw-1/ack"
    assert mqtt.parse_topic("m2c/v1/gw/gw-1/ack") == ("gw-1", "ack")
