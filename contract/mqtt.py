"""MQTT contract v1: topic namespace and payload models shared by gateways and central.

Topics (``<gw>`` is a gateway id, ``[A-Za-z0-9_.-]{1,64}``):

uplink, gateway → central (QoS 1)
    ``m2c/v1/gw/<gw>/readings``   :class:`ReadingsBatch`
    ``m2c/v1/gw/<gw>/status``     :class:`GatewayStatus`, retained; the Last Will says offline
    ``m2c/v1/gw/<gw>/events``     :class:`Event` (device health, dropped data, print outcomes)
    ``m2c/v1/gw/<gw>/payments``   :class:`FieldPaymentBatch` (cash taken in the field)
    ``m2c/v1/gw/<gw>/replies``    :class:`CommandReply` (outcome of a downlink message)

downlink, central → gateway (QoS 1)
    ``m2c/v1/gw/<gw>/cmd``        :class:`Command`

Every payload is UTF-8 JSON carrying ``"v": 1``. Readers reject unknown major versions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

VERSION = 1
ROOT = "m2c/v1"
GATEWAY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
METER_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

Channel = Literal["readings", "status", "events", "payments", "replies", "cmd"]
UPLINK_CHANNELS: tuple[Channel, ...] = ("readings", "status", "events", "payments", "replies")

# Quality flags a reading may carry. An empty list means a good, measured value.
QualityFlag = Literal[
    "time_from_gateway",  # the meter has no clock: the timestamp is the time of the read
    "clock_suspect",  # the meter's clock differs from the gateway's by more than the tolerance
    "estimated",  # not measured (filled in by the gateway or central)
    "stale",  # the meter repeated an unchanged value it should have changed
    "overflow",  # the register rolled over at its digit count since the last read
    "manual",  # typed in by a person (reading app)
]


def _check_gateway_id(value: str) -> str:
    if not GATEWAY_ID_RE.fullmatch(value):
        raise ValueError(f"gateway id {value!r} must match {GATEWAY_ID_RE.pattern}")
    return value


def _check_meter_id(value: str) -> str:
    if not METER_ID_RE.fullmatch(value):
        raise ValueError(f"meter id {value!r} must match {METER_ID_RE.pattern}")
    return value


def _check_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a UTC offset")
    return value.astimezone(UTC)


GatewayId = Annotated[str, AfterValidator(_check_gateway_id)]
MeterId = Annotated[str, AfterValidator(_check_meter_id)]
AwareDatetime = Annotated[datetime, AfterValidator(_check_aware)]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reading(_Payload):
    """One value of one quantity of one meter at one instant.

    Identity is ``(meter_id, quantity, ts)``: a redelivered reading is the same reading.
    """

    meter_id: MeterId
    quantity: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$")
    value: float = Field(allow_inf_nan=False)
    unit: str = Field(max_length=16)
    ts: AwareDatetime
    quality: tuple[QualityFlag, ...] = ()

    @classmethod
    def trusted(
        cls,
        meter_id: str,
        quantity: str,
        value: float,
        unit: str,
        ts: datetime,
        quality: tuple[QualityFlag, ...] = (),
    ) -> Reading:
        """A reading from parts a driver has already checked, built without validation.

        For pollers that make a hundred thousand readings a second: about a quarter of the cost
        of ``model_construct``. The caller guarantees what validation would: a valid meter id and
        quantity, a finite value, an aware UTC ``ts``. The result equals the validated model.
        """
        reading = _new(cls)
        _set(
            reading,
            "__dict__",
            {
                "meter_id": meter_id,
                "quantity": quantity,
                "value": value,
                "unit": unit,
                "ts": ts,
                "quality": quality,
            },
        )
        _set(reading, "__pydantic_fields_set__", _READING_FIELDS)
        _set(reading, "__pydantic_extra__", None)
        _set(reading, "__pydantic_private__", None)
        return reading


_new = object.__new__
_set = object.__setattr__
_READING_FIELDS = frozenset(Reading.model_fields)


class ReadingsBatch(_Payload):
    """Many readings in one message. ``seq`` grows by one per batch and gateway."""

    v: Literal[1] = 1
    gateway_id: GatewayId
    seq: int = Field(ge=0)
    sent_at: AwareDatetime
    readings: tuple[Reading, ...] = Field(min_length=1)


class GatewayStatus(_Payload):
    v: Literal[1] = 1
    gateway_id: GatewayId
    state: Literal["online", "offline"]
    ts: AwareDatetime
    software: str = ""


class Event(_Payload):
    """Something a person may need to know: device health, data dropped, a print outcome."""

    v: Literal[1] = 1
    gateway_id: GatewayId
    kind: str = Field(min_length=1, max_length=64)
    ts: AwareDatetime
    subject: str = ""  # a meter id, printer id or job id
    severity: Literal["info", "warning", "error"] = "info"
    detail: dict[str, Any] = Field(default_factory=dict)


class FieldPayment(_Payload):
    """Cash (or another method) taken by a field cashier, with the signed receipt's number."""

    payment_id: str = Field(min_length=1, max_length=64)
    account: str = Field(min_length=1, max_length=32)
    bill_id: str = ""
    amount: int = Field(gt=0, description="minor units of the currency")
    currency: str = Field(default="VND", min_length=3, max_length=3)
    method: Literal["cash", "card", "transfer"] = "cash"
    receipt_no: str
    cashier: str
    ts: AwareDatetime
    signature: str = Field(description="base64url Ed25519 signature over the receipt")


class FieldPaymentBatch(_Payload):
    v: Literal[1] = 1
    gateway_id: GatewayId
    seq: int = Field(ge=0)
    payments: tuple[FieldPayment, ...] = Field(min_length=1)


class Command(_Payload):
    """A downlink message. ``kind`` selects what ``args`` must hold."""

    v: Literal[1] = 1
    id: str = Field(min_length=1, max_length=64)
    kind: Literal["read_now", "restart_bus", "set_log_level", "config", "print", "bill_cache"]
    args: dict[str, Any] = Field(default_factory=dict)
    # Central signs every command (see contract.command_signature); a gateway runs none unsigned.
    expires: AwareDatetime | None = None
    sig: str | None = Field(default=None, max_length=128)


class CommandReply(_Payload):
    v: Literal[1] = 1
    gateway_id: GatewayId
    command_id: str
    ok: bool
    reason: str = ""
    ts: AwareDatetime


def topic(gateway_id: str, channel: Channel) -> str:
    """The topic of ``channel`` for one gateway."""
    _check_gateway_id(gateway_id)
    return f"{ROOT}/gw/{gateway_id}/{channel}"


def topic_filter(channel: Channel, *, share_group: str | None = None) -> str:
    """A subscription filter for ``channel`` of every gateway, optionally shared."""
    base = f"{ROOT}/gw/+/{channel}"
    return f"$share/{share_group}/{base}" if share_group else base


def parse_topic(value: str) -> tuple[str, Channel]:
    """Split a topic into (gateway id, channel); ``ValueError`` when it is not ours."""
    parts = value.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != f"{ROOT}/gw":
        raise ValueError(f"topic {value!r} is not under {ROOT}/gw/<gateway>/<channel>")
    gateway_id, channel = parts[3], parts[4]
    if not GATEWAY_ID_RE.fullmatch(gateway_id):
        raise ValueError(f"topic {value!r} has a malformed gateway id {gateway_id!r}")
    if channel not in ("readings", "status", "events", "payments", "replies", "cmd"):
        raise ValueError(f"topic {value!r} has unknown channel {channel!r}")
    return gateway_id, channel  # type: ignore[return-value]


def utcnow() -> datetime:
    return datetime.now(UTC)
