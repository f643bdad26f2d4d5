"""``/api/v1/channels``: the Zalo OA webhook and the WeChat OA endpoint.

Open to anyone by nature, and authenticated by each platform's own signature over the raw
request (checked in constant time) and a timestamp within the configured window.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from central.auth import public
from central.channels.inbound import Inbound, receive
from central.channels.service import Channel
from central.channels.signatures import SignatureError, check_fresh, check_wechat, check_zalo
from central.channels.wechat_xml import XmlError, parse, text_reply
from central.db.engine import writer_sessions
from central.settings import ChannelsSettings

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])
Str64 = Annotated[str, Query(max_length=64)]


def _settings(request: Request) -> ChannelsSettings:
    settings: ChannelsSettings = request.app.state.channels
    return settings


def _wake(request: Request) -> None:
    notifier = getattr(request.app.state, "notifier", None)
    if notifier is not None:
        notifier.wake()


def _id(value: object, name: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise HTTPException(422, f"{name} must be a string")
    text = str(value)
    if not 0 < len(text) <= 64 or not text.isprintable():
        raise HTTPException(422, f"{name} must be 1 to 64 printable characters")
    return text


@router.post("/zalo", dependencies=[public()])
async def zalo_webhook(
    request: Request,
    x_zevent_signature: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, object]:
    """A Zalo OA event; a text message is answered through the OA's send-message API."""
    settings = _settings(request)
    zalo = settings.zalo
    if zalo is None:
        raise HTTPException(404, "no Zalo channel configured")
    body = await request.body()
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise HTTPException(400, "body is not JSON") from exc
    if not isinstance(event, dict):
        raise HTTPException(400, "body is not a JSON object")
    timestamp = str(event.get("timestamp", ""))
    try:
        check_zalo(
            x_zevent_signature,
            app_id=zalo.app_id,
            body=body,
            timestamp=timestamp,
            oa_secret=zalo.oa_secret,
        )
        if str(event.get("app_id")) != zalo.app_id:
            raise SignatureError("app_id is not this Official Account's")
        if not timestamp.isdigit() or len(timestamp) > 15:
            raise SignatureError(f"timestamp {timestamp[:20]!r} is not in milliseconds")
        sent_at = datetime.fromtimestamp(int(timestamp) / 1000, UTC)
        check_fresh(
            sent_at,
            request.app.state.clock(),
            window=timedelta(seconds=settings.timestamp_window_s),
        )
    except SignatureError as exc:
        raise HTTPException(401, f"Zalo signature refused: {exc}") from exc
    if event.get("event_name") != "user_send_text":
        return {"error": 0, "handled": False}
    sender, message = event.get("sender"), event.get("message")
    if not isinstance(sender, dict) or not isinstance(message, dict):
        raise HTTPException(422, "user_send_text needs sender and message objects")
    text = message.get("text")
    if not isinstance(text, str):
        raise HTTPException(422, "message.text must be a string")
    inbound = Inbound(
        msg_id=_id(message.get("msg_id"), "message.msg_id"),
        chat_user=_id(sender.get("id"), "sender.id"),
        text=text,
    )
    channel = Channel("zalo", zalo.utility, zalo.locale, zalo.pay_link)
    await run_in_threadpool(
        receive,
        writer_sessions(request.app.state.engine),
        channel,
        inbound,
        clock=request.app.state.clock,
    )
    _wake(request)
    return {"error": 0, "handled": True}


def _check_wechat(request: Request, signature: str, timestamp: str, nonce: str) -> ChannelsSettings:
    settings = _settings(request)
    if settings.wechat is None:
        raise HTTPException(404, "no WeChat channel configured")
    try:
        check_wechat(signature, token=settings.wechat.token, timestamp=timestamp, nonce=nonce)
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise SignatureError(f"timestamp {timestamp[:20]!r} is not a Unix time")
        check_fresh(
            datetime.fromtimestamp(int(timestamp), UTC),
            request.app.state.clock(),
            window=timedelta(seconds=settings.timestamp_window_s),
        )
    except SignatureError as exc:
        raise HTTPException(401, f"WeChat signature refused: {exc}") from exc
    return settings


@router.get(
    "/wechat",
    dependencies=[public()],
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def wechat_verify(
    request: Request, signature: Str64, timestamp: Str64, nonce: Str64, echostr: Str64
) -> Response:
    """WeChat's server verification: echo ``echostr`` when the signature holds."""
    _check_wechat(request, signature, timestamp, nonce)
    return Response(echostr, media_type="text/plain")


@router.post(
    "/wechat",
    dependencies=[public()],
    responses={
        200: {
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/xml": {"schema": {"type": "string"}},
            }
        }
    },
)
async def wechat_message(
    request: Request, signature: Str64, timestamp: Str64, nonce: Str64
) -> Response:
    """A message from a follower, answered with a passive XML reply (or ``success``)."""
    wechat = _check_wechat(request, signature, timestamp, nonce).wechat
    assert wechat is not None
    try:
        message = parse(await request.body())
    except XmlError as exc:
        raise HTTPException(400, str(exc)) from exc
    now = int(request.app.state.clock().timestamp())
    channel = Channel("wechat", wechat.utility, wechat.locale, wechat.pay_link)
    if message.msg_type == "event" and message.event == "subscribe":
        text = "?"  # a new follower gets the menu
    elif message.msg_type == "text":
        text = message.content
    else:
        return Response("success", media_type="text/plain")
    msg_id = message.msg_id or f"{message.from_user}:{message.create_time}"
    inbound = Inbound(
        msg_id=_id(msg_id, "MsgId"), chat_user=_id(message.from_user, "FromUserName"), text=text
    )
    reply = await run_in_threadpool(
        receive,
        writer_sessions(request.app.state.engine),
        channel,
        inbound,
        clock=request.app.state.clock,
    )
    return Response(text_reply(message, reply, now=now), media_type="application/xml")
