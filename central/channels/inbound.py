"""Handle one inbound chat message exactly once: platforms retry, so a message id that was
answered before gets the same answer again and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from central.channels.service import Channel, answer
from central.db.models.channels import ChatInboundRow
from central.notify.queue import Message, queue

Clock = Callable[[], datetime]
MAX_TEXT = 2000


@dataclass(frozen=True)
class Inbound:
    msg_id: str
    chat_user: str
    text: str


def receive(
    sessions: sessionmaker[Session], channel: Channel, message: Inbound, *, clock: Clock
) -> str:
    """Answer ``message``; the reply is queued for sending when the platform needs it
    (Zalo), or returned for the HTTP answer (WeChat)."""
    with sessions() as session:
        seen = _seen(session, channel, message.msg_id)
        if seen is not None:
            return seen
        reply = answer(session, channel, message.chat_user, message.text, clock=clock)
        session.add(
            ChatInboundRow(
                platform=channel.platform,
                msg_id=message.msg_id,
                chat_user=message.chat_user,
                text=message.text[:MAX_TEXT],
                reply=reply,
                received_at=clock(),
            )
        )
        if channel.platform == "zalo":
            key = f"msg:{message.msg_id}"
            queue(session, [Message("zalo", message.chat_user, key, reply)], clock=clock)
        try:
            session.commit()
        except IntegrityError:  # the same message, handled at the same time by another request
            session.rollback()
            return _seen(session, channel, message.msg_id) or reply
    return reply


def _seen(session: Session, channel: Channel, msg_id: str) -> str | None:
    return session.scalar(
        select(ChatInboundRow.reply).where(
            ChatInboundRow.platform == channel.platform, ChatInboundRow.msg_id == msg_id
        )
    )
