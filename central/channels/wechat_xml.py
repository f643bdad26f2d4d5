"""WeChat Official Account message XML, in and out (sans-IO; entities refused)."""

from __future__ import annotations

from dataclasses import dataclass

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException


class XmlError(ValueError):
    """A body that is not a WeChat message."""


@dataclass(frozen=True)
class WeChatMessage:
    to_user: str  # the Official Account
    from_user: str  # the user's OpenID
    create_time: int
    msg_type: str
    content: str
    msg_id: str
    event: str


def parse(body: bytes) -> WeChatMessage:
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise XmlError(f"not XML: {exc}") from exc
    if root.tag != "xml":
        raise XmlError(f"root element is <{root.tag}>, not <xml>")

    def field(name: str, *, required: bool = True) -> str:
        node = root.find(name)
        if node is None or node.text is None:
            if required:
                raise XmlError(f"missing <{name}>")
            return ""
        return node.text.strip()

    create = field("CreateTime")
    if not create.isdigit() or len(create) > 12:
        raise XmlError(f"<CreateTime> {create[:20]!r} is not a Unix time")
    return WeChatMessage(
        to_user=field("ToUserName"),
        from_user=field("FromUserName"),
        create_time=int(create),
        msg_type=field("MsgType"),
        content=field("Content", required=False),
        msg_id=field("MsgId", required=False),
        event=field("Event", required=False),
    )


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(message: WeChatMessage, content: str, *, now: int) -> str:
    """A passive text reply: To and From swapped."""
    return (
        "<xml>"
        f"<ToUserName>{_cdata(message.from_user)}</ToUserName>"
        f"<FromUserName>{_cdata(message.to_user)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    )
