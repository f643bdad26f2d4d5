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
