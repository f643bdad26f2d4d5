"""Incoming MQTT messages to contract payloads, or a rejection with its reason (sans-IO)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from contract import mqtt as contract

MODELS: dict[str, type[BaseModel]] = {
    "readings": contract.ReadingsBatch,
    "payments": contract.FieldPaymentBatch,
    "events": contract.Event,
    "replies": contract.CommandReply,
    "status": contract.GatewayStatus,
}

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


@dataclass(frozen=True, slots=True)
class Ignored:
    """Not data: an empty retained message clearing a status topic."""

    topic: str


def parse(topic: str, payload: bytes) -> Payload | Rejected | Ignored:
    try:
        gateway_id, channel = contract.parse_topic(topic)
    except ValueError as exc:
        return Rejected(topic, payload, str(exc))
    model = MODELS.get(channel)
    if model is None:
        return Rejected(topic, payload, f"channel {channel!r} is not an uplink channel")
    if channel == "status" and not payload:
        return Ignored(topic)
    try:
        parsed = model.model_validate_json(payload)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "<payload>"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return Rejected(
            topic, payload, f"invalid {channel} payload at {where}: {first['msg']}{more}"
        )
    if parsed.gateway_id != gateway_id:  # type: ignore[attr-defined]
        return Rejected(
            topic,
            payload,
            f"payload gateway_id {parsed.gateway_id!r} does not match the topic's"  # type: ignore[attr-defined]
            f" {gateway_id!r}",
        )
    return parsed  # type: ignore[return-value]
