"""Ingest's sans-IO parts: a batch stored in part, rejections that keep their gateway and
number, acknowledgements as ranges, text made fit for a column."""

from __future__ import annotations

import json

from central.ingest.acks import acknowledgements
from central.ingest.parse import Partial, Rejected, parse, printable
from contract import mqtt as contract

TOPIC = "m2c/v1/gw/gw-p/readings"


def _batch(seq: object, readings: list[dict[str, object]]) -> bytes:
    return json.dumps(
        {
            "v": 1,
            "gateway_id": "gw-p",
            "seq": seq,
            "sent_at": "2026-01-01T00:00:00Z",
            "readings": readings,
        }
    ).encode()


def _r(ts: str, value: object = 1.0) -> dict[str, object]:
    return {"meter_id": "m", "quantity": "energy_import", "value": value, "unit": "kWh", "ts": ts}


def test_bad_readings_are_set_aside_and_the_rest_kept() -> None:
    item = parse(
        TOPIC,
        _batch(
            7,
            [
                _r("2026-01-01T00:00:00Z"),
                _r("0001-01-01T00:00:00+01:00"),
                _r("2026-01-01T00:01:00Z", "x"),
            ],
        ),
    )
    assert isinstance(item, Partial)
    assert [r.ts.minute for r in item.batch.readings] == [0]
    assert [r.reason.split(":")[0] for r in item.rejected] == [
        "invalid readings payload at readings.1.ts",
        "invalid readings payload at readings.2.value",
    ]
    assert {(r.gateway_id, r.channel, r.seq) for r in item.rejected} == {("gw-p", "readings", 7)}


def test_a_rejection_keeps_its_number_only_when_legible() -> None:
    bad_envelope = parse(
        TOPIC, _batch(9, [_r("2026-01-01T00:00:00Z")]).replace(b'"v": 1', b'"v": 2')
    )
    assert isinstance(bad_envelope, Rejected)
    assert bad_envelope.seq == 9
    for payload in (_batch(2**63, [_r("2026-01-01T00:00:00Z")]), _batch("9", []), b"{", b"[1]"):
        rejected = parse(TOPIC, payload)
        assert isinstance(rejected, Rejected)
        assert rejected.seq is None


def test_acknowledgements_group_by_gateway_and_channel_as_ranges() -> None:
    items = [parse(TOPIC, _batch(s, [_r("2026-01-01T00:00:00Z")])) for s in (1, 2, 3, 7)] + [
        parse(TOPIC, _batch(8, [_r("0001-01-01T00:00:00+01:00")])),  # quarantined: still acked
        parse(TOPIC, b"garbage"),
        parse(
            "m2c/v1/gw/gw-q/readings", _batch(0, [_r("2026-01-01T00:00:00Z")])
        ),  # another id inside
    ]
    acks = acknowledgements(items)
    assert [(a.gateway_id, a.channel, a.seqs) for a in acks] == [
        ("gw-p", "readings", ((1, 3), (7, 8))),
        ("gw-q", "readings", ((0, 0),)),  # acknowledged to the gateway whose topic it came on
    ]


def test_printable_escapes_control_characters() -> None:
    assert printable("a\x00b\nc") == "a\\x00b\\nc"
    assert printable("é" * 10, 4) == "éééé…"
    assert contract.MAX_MESSAGE_BYTES == 4 * 1024 * 1024
