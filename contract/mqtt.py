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
    ``m2c/v1/gw/<gw>/ack``        :class:`IngestAck` (what central has stored, by sequence)

Every payload is UTF-8 JSON carrying ``"v": 1``. Readers reject unknown major versions.

Bounds (what central stores; the broker enforces the message size too): a message is at most
:data:`MAX_MESSAGE_BYTES`; a batch holds at most :data:`MAX_BATCH_READINGS` readings or
:data:`MAX_BATCH_PAYMENTS` payments; timestamps lie in ``[TS_MIN, TS_MAX)`` (and never overflow
when converted to UTC); sequence numbers fit 63 bits; strings fit their database columns and
carry no control characters; values are finite.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

VERSION = 1
ROOT = "m2c/v1"
GATEWAY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
METER_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # broker: message_size_limit (Mosquitto), same value
MAX_BATCH_READINGS = 10_000
MAX_BATCH_PAYMENTS = 1_000
MAX_SEQ = 2**63 - 1  # a signed 64-bit column
TS_MIN = datetime(2000, 1, 1, tzinfo=UTC)
TS_MAX = datetime(2100, 1, 1, tzinfo=UTC)
MAX_ACK_RANGES = 1_000

Channel = Literal["readings", "status", "events", "payments", "replies", "cmd", "ack"]
ConfirmedChannel = Literal["readings", "payments"]
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
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"timestamp {value.isoformat()} overflows when converted to UTC") from None
    if not TS_MIN <= utc < TS_MAX:
        raise ValueError(
            f"timestamp {utc.isoformat()} is outside {TS_MIN.year}-01-01 .. {TS_MAX.year}-01-01"
        )
    return utc


def _check_text(value: str) -> str:
    """No control characters (NUL included) and no lone surrogates: neither fits a text column."""
    for i, char in enumerate(value):
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError(f"control character {char!r} at position {i}")
    return value


GatewayId = Annotated[str, AfterValidator(_check_gateway_id)]
MeterId = Annotated[str, AfterValidator(_check_meter_id)]
AwareDatetime = Annotated[datetime, AfterValidator(_check_aware)]


def _check_free_text(value: str) -> str:
    """Free text (a reason) may hold line breaks, never NUL nor lone surrogates."""
    for i, char in enumerate(value):
        if char == "\x00" or unicodedata.category(char) == "Cs":
            raise ValueError(f"character {char!r} at position {i}")
    return value


Text = Annotated[str, AfterValidator(_check_text)]
Seq = Annotated[int, Field(strict=True, ge=0, le=MAX_SEQ)]

# Strings of at most N characters (their column's size) with no control characters.
Text16 = Annotated[str, Field(max_length=16), AfterValidator(_check_text)]
Text32 = Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_check_text)]
Text64 = Annotated[str, Field(max_length=64), AfterValidator(_check_text)]
Id64 = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_check_text)]
Text128 = Annotated[str, Field(max_length=128), AfterValidator(_check_text)]
Text4096 = Annotated[str, Field(max_length=4096), AfterValidator(_check_free_text)]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reading(_Payload):
    """One value of one quantity of one meter at one instant.

    Identity is ``(meter_id, quantity, ts)``: a redelivered reading is the same reading.
    """

    meter_id: MeterId
    quantity: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$")
    value: float = Field(allow_inf_nan=False)
    unit: Text16
    ts: AwareDatetime
    quality: tuple[QualityFlag, ...] = Field(default=(), max_length=6)

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
    seq: Seq
    sent_at: AwareDatetime
    readings: tuple[Reading, ...] = Field(min_length=1, max_length=MAX_BATCH_READINGS)


class GatewayStatus(_Payload):
    v: Literal[1] = 1
    gateway_id: GatewayId
    state: Literal["online", "offline"]
    ts: AwareDatetime
    software: Text64 = ""


class Event(_Payload):
    """Something a person may need to know: device health, data dropped, a print outcome."""

    v: Literal[1] = 1
    gateway_id: GatewayId
    kind: Id64
    ts: AwareDatetime
    subject: Text128 = ""  # a meter id, printer id or job id
    severity: Literal["info", "warning", "error"] = "info"
    detail: dict[str, Any] = Field(default_factory=dict)


class FieldPayment(_Payload):
    """Cash (or another method) taken by a field cashier, with the signed receipt's number."""

    payment_id: Id64
    account: Text32
    bill_id: Text64 = ""
    amount: int = Field(strict=True, gt=0, le=MAX_SEQ, description="minor units of the currency")
    currency: str = Field(default="VND", min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")
    method: Literal["cash", "card", "transfer"] = "cash"
    receipt_no: Text64
    cashier: Text64
    ts: AwareDatetime
    signature: str = Field(
        max_length=512,
        pattern=r"^[A-Za-z0-9_=+/-]*$",
        description="base64url Ed25519 signature over the receipt",
    )


class FieldPaymentBatch(_Payload):
    v: Literal[1] = 1
    gateway_id: GatewayId
    seq: Seq
    payments: tuple[FieldPayment, ...] = Field(min_length=1, max_length=MAX_BATCH_PAYMENTS)


class Command(_Payload):
    """A downlink message. ``kind`` selects what ``args`` must hold."""

    v: Literal[1] = 1
    id: Id64
    kind: Literal["read_now", "restart_bus", "set_log_level", "config", "print", "bill_cache"]
    args: dict[str, Any] = Field(default_factory=dict)
    # Central signs every command (see contract.command_signature); a gateway runs none unsigned.
    expires: AwareDatetime | None = None
    sig: str | None = Field(default=None, max_length=128)


class CommandReply(_Payload):
    v: Literal[1] = 1
    gateway_id: GatewayId
    command_id: Text64  # empty when the command could not be read
    ok: bool
    reason: Text4096 = ""
    ts: AwareDatetime


class IngestAck(_Payload):
    """Central's word that it has stored (or quarantined) the messages ``seqs`` of ``channel``
    from this gateway, as inclusive ranges ``[first, last]``. Sent on the gateway's own
    ``ack`` topic after the database transaction committed; a gateway deletes a message from
    its outbox only on this (the broker's PUBACK only paces the stream)."""

    v: Literal[1] = 1
    gateway_id: GatewayId
    channel: ConfirmedChannel
    seqs: tuple[tuple[Seq, Seq], ...] = Field(min_length=1, max_length=MAX_ACK_RANGES)


def ranges(seqs: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """Sequence numbers as sorted inclusive ranges: ``{1, 2, 3, 7}`` → ``((1, 3), (7, 7))``."""
    out: list[list[int]] = []
    for s in sorted(set(seqs)):
        if out and s == out[-1][1] + 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return tuple((a, b) for a, b in out)


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
    if channel not in ("readings", "status", "events", "payments", "replies", "cmd", "ack"):
        raise ValueError(f"topic {value!r} has unknown channel {channel!r}")
    return gateway_id, channel  # type: ignore[return-value]


def utcnow() -> datetime:
    return datetime.now(UTC)
