"""Gateways as ingest sees them: online/offline and last seen, sequence gaps, events; and what
ingest set aside: value conflicts and quarantined payloads."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select

from central.api.deps import SessionDep
from central.auth import Role, allow
from central.db.models.ingest import (
    CommandReplyRow,
    GatewayEventRow,
    GatewayRow,
    QuarantineRow,
    ReadingConflict,
    SeqGap,
)
from contract import mqtt as contract

router = APIRouter(prefix="/api/v1", tags=["gateways"])
Limit = Annotated[int, Query(ge=1, le=10_000)]


class GatewayOut(BaseModel):
    gateway_id: str
    state: str
    status_ts: datetime | None
    last_seen: datetime
    software: str
    readings_seq: int | None
    payments_seq: int | None
    messages: int
    open_gaps: int
    missing_messages: int


class GapOut(BaseModel):
    channel: str
    first_seq: int
    last_seq: int
    missing: int
    detected_at: datetime


class EventOut(BaseModel):
    kind: str
    ts: datetime
    subject: str
    severity: str
    detail: dict[str, Any]
    received_at: datetime


class ReplyOut(BaseModel):
    command_id: str
    ok: bool
    reason: str
    ts: datetime


class ConflictOut(BaseModel):
    meter_id: str
    quantity: str
    ts: datetime
    stored_value: float
    received_value: float
    gateway_id: str | None
    seq: int | None
    received_at: datetime


class QuarantineOut(BaseModel):
    id: int
    topic: str
    reason: str
    payload: str  # as text, undecodable bytes replaced, cut at 4 KiB
    payload_bytes: int
    received_at: datetime


class QuarantinePage(BaseModel):
    total: int
    items: list[QuarantineOut]


def _out(session: SessionDep, gw: GatewayRow) -> GatewayOut:
    n, missing = session.execute(
        select(
            func.count(), func.coalesce(func.sum(SeqGap.last_seq - SeqGap.first_seq + 1), 0)
        ).where(SeqGap.gateway_id == gw.gateway_id)
    ).one()
    return GatewayOut(
        gateway_id=gw.gateway_id,
        state=gw.state,
        status_ts=gw.status_ts,
        last_seen=gw.last_seen,
        software=gw.software,
        readings_seq=gw.readings_seq,
        payments_seq=gw.payments_seq,
        messages=gw.messages,
        open_gaps=n,
        missing_messages=int(missing),
    )


def _gateway(session: SessionDep, gateway_id: str) -> GatewayRow:
    gw = session.get(GatewayRow, gateway_id)
    if gw is None:
        raise HTTPException(404, f"no gateway {gateway_id!r} has been heard from")
    return gw


@router.get(
    "/gateways", response_model=list[GatewayOut], dependencies=[allow(Role.OPERATOR, Role.AUDITOR)]
)
def gateways(session: SessionDep) -> list[GatewayOut]:
    """Every gateway heard from: retained status (online/offline), last seen, gap summary."""
    rows = session.scalars(select(GatewayRow).order_by(GatewayRow.gateway_id)).all()
    return [_out(session, gw) for gw in rows]


@router.get(
    "/gateways/{gateway_id}",
    response_model=GatewayOut,
    dependencies=[allow(Role.OPERATOR, Role.AUDITOR)],
)
def gateway(gateway_id: str, session: SessionDep) -> GatewayOut:
    return _out(session, _gateway(session, gateway_id))


@router.get(
    "/gateways/{gateway_id}/gaps",
    response_model=list[GapOut],
    dependencies=[allow(Role.OPERATOR, Role.AUDITOR)],
)
def gaps(gateway_id: str, session: SessionDep, channel: str | None = None) -> list[GapOut]:
    """Sequence numbers never received (messages lost upstream, or not yet arrived)."""
    _gateway(session, gateway_id)
    stmt = select(SeqGap).where(SeqGap.gateway_id == gateway_id)
    if channel:
        stmt = stmt.where(SeqGap.channel == channel)
    rows = session.scalars(stmt.order_by(SeqGap.channel, SeqGap.first_seq)).all()
    return [
        GapOut(
            channel=g.channel,
            first_seq=g.first_seq,
            last_seq=g.last_seq,
            missing=g.last_seq - g.first_seq + 1,
            detected_at=g.detected_at,
        )
        for g in rows
    ]


@router.get(
    "/gateways/{gateway_id}/events",
    response_model=list[EventOut],
    dependencies=[allow(Role.OPERATOR, Role.AUDITOR)],
)
def events(
    gateway_id: str, session: SessionDep, kind: str | None = None, limit: Limit = 100
) -> list[EventOut]:
    """Newest first."""
    _gateway(session, gateway_id)
    stmt = select(GatewayEventRow).where(GatewayEventRow.gateway_id == gateway_id)
    if kind:
        stmt = stmt.where(GatewayEventRow.kind == kind)
    rows = session.scalars(stmt.order_by(GatewayEventRow.ts.desc()).limit(limit)).all()
    return [
        EventOut(
            kind=e.kind,
            ts=e.ts,
            subject=e.subject,
            severity=e.severity,
            detail=json.loads(e.detail),
            received_at=e.received_at,
        )
        for e in rows
    ]


@router.get(
    "/gateways/{gateway_id}/replies",
    response_model=list[ReplyOut],
    dependencies=[allow(Role.OPERATOR, Role.AUDITOR)],
)
def replies(gateway_id: str, session: SessionDep, limit: Limit = 100) -> list[ReplyOut]:
    _gateway(session, gateway_id)
    rows = session.scalars(
        select(CommandReplyRow)
        .where(CommandReplyRow.gateway_id == gateway_id)
        .order_by(CommandReplyRow.ts.desc())
        .limit(limit)
    ).all()
    return [ReplyOut(command_id=r.command_id, ok=r.ok, reason=r.reason, ts=r.ts) for r in rows]


@router.get(
    "/ingest/conflicts",
    response_model=list[ConflictOut],
    dependencies=[allow(Role.OPERATOR, Role.AUDITOR)],
)
def conflicts(
    session: SessionDep, meter_id: str | None = None, limit: Limit = 1000
) -> list[ConflictOut]:
    """Readings that arrived again for a stored identity with a different value."""
    stmt = select(ReadingConflict)
    if meter_id:
        stmt = stmt.where(ReadingConflict.meter_id == meter_id)
    rows = session.scalars(stmt.order_by(ReadingConflict.id.desc()).limit(limit)).all()
    return [
        ConflictOut(
            meter_id=c.meter_id,
            quantity=c.quantity,
            ts=c.ts,
            stored_value=c.stored_value,
            received_value=c.received_value,
            gateway_id=c.gateway_id,
            seq=c.seq,
            received_at=c.received_at,
        )
        for c in rows
    ]


@router.get(
    "/ingest/quarantine",
    response_model=QuarantinePage,
    dependencies=[allow(Role.OPERATOR, Role.AUDITOR)],
)
def quarantine(session: SessionDep, limit: Limit = 100) -> QuarantinePage:
    """Payloads ingest could not accept, newest first, with the reason and the count."""
    total = session.scalar(select(func.count()).select_from(QuarantineRow)) or 0
    rows = session.scalars(select(QuarantineRow).order_by(QuarantineRow.id.desc()).limit(limit))
    return QuarantinePage(
        total=total,
        items=[
            QuarantineOut(
                id=q.id,
                topic=q.topic,
                reason=q.reason,
                payload=q.payload[:4096].decode("utf-8", "replace"),
                payload_bytes=len(q.payload),
                received_at=q.received_at,
            )
            for q in rows
        ],
    )


class CommandIn(BaseModel):
    kind: str
    args: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, description="default: a new UUID")


class CommandSent(BaseModel):
    command_id: str
    published: bool


@router.post(
    "/gateways/{gateway_id}/commands",
    response_model=CommandSent,
    status_code=202,
    dependencies=[allow(Role.OPERATOR)],
)
def send_command(gateway_id: str, body: CommandIn, request: Request) -> CommandSent:
    """Send a command (read_now, restart_bus, set_log_level, config, print, bill_cache) to a
    gateway; its reply appears under ``/gateways/{gateway_id}/replies``."""
    publisher = getattr(request.app.state, "commands", None)
    if publisher is None:
        raise HTTPException(503, "this API process has no broker connection for commands")
    try:
        contract.topic(gateway_id, "cmd")
        command = contract.Command(id=body.id or uuid.uuid4().hex, kind=body.kind, args=body.args)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise HTTPException(422, f"invalid command at {where}: {first['msg']}") from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    published = publisher.send(gateway_id, command)
    if not published:
        raise HTTPException(504, f"broker did not acknowledge command {command.id}")
    return CommandSent(command_id=command.id, published=True)
