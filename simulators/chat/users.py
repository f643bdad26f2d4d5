"""Followers who write to the Official Account: signed events posted to the service's webhook.

``ZaloUser`` posts a ``user_send_text`` event with ``X-ZEvent-Signature`` (SHA-256 of app id,
body, timestamp and OA secret). ``WeChatUser`` posts message XML with the query signature
(SHA-1 of the sorted token, timestamp and nonce) and gets the passive reply back.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlencode
from xml.etree import ElementTree  # the service's own reply
from xml.sax.saxutils import escape

from simulators.chat.platform import Conversation, Said


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class ZaloUser:
    _ids = itertools.count(int(time.time() * 1000))

    def __init__(
        self,
        webhook: str,
        *,
        app_id: str,
        oa_secret: str,
        user_id: str,
        oa_id: str = "oa-sim",
        conversation: Conversation | None = None,
        clock: Callable[[], float] = time.time,
        tamper: bool = False,
    ) -> None:
        self.webhook, self.app_id, self.oa_secret = webhook, app_id, oa_secret
        self.user_id, self.oa_id = user_id, oa_id
        self.conversation = conversation or Conversation()
        self.clock, self.tamper = clock, tamper

    def say(self, text: str, *, msg_id: str | None = None) -> int:
        """Send ``text``; returns the webhook's HTTP status (replies arrive at the platform)."""
        timestamp = str(int(self.clock() * 1000))
        event = {
            "app_id": self.app_id,
            "event_name": "user_send_text",
            "sender": {"id": self.user_id},
            "recipient": {"id": self.oa_id},
            "message": {"text": text, "msg_id": msg_id or f"msg{next(self._ids)}"},
            "timestamp": timestamp,
        }
        body = json.dumps(event, ensure_ascii=False).encode()
        mac = hashlib.sha256(
            self.app_id.encode() + body + timestamp.encode() + self.oa_secret.encode()
        ).hexdigest()
        if self.tamper:
            mac = mac[:-1] + ("0" if mac[-1] != "0" else "1")
        self.conversation.add(Said("zalo", self.user_id, "in", text))
        status, _ = _post(
            self.webhook,
            body,
            {"Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"},
        )
        return status


class WeChatUser:
    _ids = itertools.count(int(time.time()))

    def __init__(
        self,
        endpoint: str,
        *,
        token: str,
        open_id: str,
        account: str = "gh_sim",
        conversation: Conversation | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint, self.token, self.open_id, self.account = endpoint, token, open_id, account
        self.conversation = conversation or Conversation()
        self.clock = clock

    def _query(self) -> str:
        timestamp, nonce = str(int(self.clock())), secrets.token_hex(8)
        signature = hashlib.sha1("".join(sorted((self.token, timestamp, nonce))).encode())
        return urlencode(
            {"signature": signature.hexdigest(), "timestamp": timestamp, "nonce": nonce}
        )

    def verify(self, echostr: str) -> tuple[int, str]:
        url = f"{self.endpoint}?{self._query()}&{urlencode({'echostr': echostr})}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def say(self, text: str, *, msg_id: str | None = None) -> tuple[int, str]:
        """Send ``text``; returns the HTTP status and the passive reply's content."""
        xml = (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
            f"<FromUserName><![CDATA[{self.open_id}]]></FromUserName>"
            f"<CreateTime>{int(self.clock())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{escape(text)}</Content><MsgId>{msg_id or next(self._ids)}</MsgId></xml>"
        )
        self.conversation.add(Said("wechat", self.open_id, "in", text))
        status, body = _post(
            f"{self.endpoint}?{self._query()}", xml.encode(), {"Content-Type": "application/xml"}
        )
        if status != 200:
            return status, body.decode(errors="replace")
        node = ElementTree.fromstring(body).find("Content")
        reply = node.text or "" if node is not None else ""
        self.conversation.add(Said("wechat", self.open_id, "out", reply))
        return status, reply
