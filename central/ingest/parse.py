"""Incoming MQTT messages to contract payloads, or a rejection with its reason (sans-IO).

A readings batch whose envelope is sound but some of whose readings are not is split: the good
readings are stored, each bad one is quarantined with its own reason (:class:`Partial`). A
rejection keeps the gateway and sequence number when they can be read, so that central can
acknowledge a quarantined message to its gateway like a stored one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from contract import mqtt as contract

MODELS: dict[str, type[BaseModel]] = {
    "readings": contract.ReadingsBatch,
    "payments": contract.FieldPaymentBatch,
    "events": contract.Event,
    "replies": contract.CommandReply,
    "status": contract.GatewayStatus,
}
KEEP_BYTES = 64 * 1024  # of an oversize payload, what the quarantine keeps

Payload = (
    contract.ReadingsBatch
    | contract.FieldPaymentBatch
    | contract.Event
    | contract.CommandReply
    | contract.GatewayStatus
)


@dataclass(frozen=True, slots=True)
class Rejected:
    topic: str
    payload: bytes
    reason: str
    gateway_id: str | None = None  # with channel and seq: what central acknowledges
    channel: str | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Partial:
    """A readings batch stored in part: ``batch`` holds the good readings (maybe none)."""

    batch: contract.ReadingsBatch
    rejected: tuple[Rejected, ...]


@dataclass(frozen=True, slots=True)
class Ignored:
    """Not data: an empty retained message clearing a status topic."""

    topic: str


Item = Payload | Partial | Rejected | Ignored


def printable(text: str, limit: int = 2000) -> str:
    """``text`` with control characters escaped, cut at ``limit``: fit for a text column."""
    out = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text[:limit])
    return out if len(text) <= limit else out + "…"


def _describe(exc: ValidationError, channel: str, prefix: str = "") -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(p) for p in (*prefix.split(".")[:-1], *first["loc"]) if p != "")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return printable(f"invalid {channel} payload at {where or '<payload>'}: {first['msg']}{more}")


def _ack_key(gateway_id: str, channel: str, payload: bytes) -> dict[str, Any]:
    """Gateway, channel and seq of a batched message that failed validation, when readable."""
    if channel not in ("readings", "payments"):
        return {}
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return {}
    seq = data.get("seq") if isinstance(data, dict) else None
    if type(seq) is not int or not 0 <= seq <= contract.MAX_SEQ:
        return {}
    return {"gateway_id": gateway_id, "channel": channel, "seq": seq}


def parse(topic: str, payload: bytes) -> Item:
    try:
        gateway_id, channel = contract.parse_topic(topic)
    except ValueError as exc:
        return Rejected(printable(topic, 256), payload[:KEEP_BYTES], printable(str(exc)))
    model = MODELS.get(channel)
    if model is None:
        return Rejected(topic, payload, f"channel {channel!r} is not an uplink channel")
    if channel == "status" and not payload:
        return Ignored(topic)
    if len(payload) > contract.MAX_MESSAGE_BYTES:
        return Rejected(
            topic,
            payload[:KEEP_BYTES],
            f"message of {len(payload)} bytes exceeds the limit of {contract.MAX_MESSAGE_BYTES}"
            f" (first {KEEP_BYTES} bytes kept)",
        )
    try:
        parsed = model.model_validate_json(payload)
    except ValidationError as exc:
        if channel == "readings":
            partial = _salvage(topic, gateway_id, payload, exc)
            if partial is not None:
                return partial
        return Rejected(
            topic, payload, _describe(exc, channel), **_ack_key(gateway_id, channel, payload)
        )
    if parsed.gateway_id != gateway_id:  # type: ignore[attr-defined]
        return Rejected(
            topic,
            payload,
            printable(
                f"payload gateway_id {parsed.gateway_id!r} does not match the topic's"  # type: ignore[attr-defined]
                f" {gateway_id!r}"
            ),
            **_ack_key(gateway_id, channel, payload),
        )
    return parsed  # type: ignore[return-value]


def _salvage(topic: str, gateway_id: str, payload: bytes, exc: ValidationError) -> Partial | None:
    """When every error lies inside ``readings[i]``: the batch with the good readings."""
    if not all(
        (len(e["loc"]) >= 3 and e["loc"][0] == "readings" and isinstance(e["loc"][1], int))
        or (e["loc"] == ("readings",) and e["type"] == "too_short")  # none of them was good
        for e in exc.errors()
    ):
        return None
    try:
        data = json.loads(payload)
        raw = data["readings"]
        if not isinstance(raw, list):
            return None
        envelope = contract.ReadingsBatch.model_validate({**data, "readings": [_PROBE]})
    except (ValueError, KeyError, TypeError, IndexError, RecursionError, ValidationError):
        return None
    if envelope.gateway_id != gateway_id:
        return None
    good: list[contract.Reading] = []
    bad: list[Rejected] = []
    for i, item in enumerate(raw):
        try:
            good.append(contract.Reading.model_validate(item))
        except ValidationError as err:
            body = json.dumps(item, ensure_ascii=True, default=str).encode()
            bad.append(
                Rejected(
                    topic,
                    body[:KEEP_BYTES],
                    _describe(err, "readings", f"readings.{i}.") + f" (message seq {envelope.seq})",
                    gateway_id,
                    "readings",
                    envelope.seq,
                )
            )
    batch = contract.ReadingsBatch.model_construct(
        v=1, gateway_id=gateway_id, seq=envelope.seq, sent_at=envelope.sent_at, readings=tuple(good)
    )
    return Partial(batch, tuple(bad))


_PROBE = {
    "meter_id": "probe",
    "quantity": "probe",
    "value": 0.0,
    "unit": "",
    "ts": "2000-01-01T00:00:00Z",
}
