"""The platforms' send-message APIs over real HTTP, recording the conversation.

Zalo: ``POST /v3.0/oa/message/cs`` (header ``access_token``). WeChat: ``GET /cgi-bin/token``
and ``POST /cgi-bin/message/custom/send?access_token=...``. An SMS provider:
``POST /messages`` with a bearer key and ``{"to", "text", "from"}``. Faults: ``fail_next``
answers the next sends with a retryable error; ``expire_token`` makes WeChat's token invalid.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Said:
    platform: str
    user: str
    direction: str  # "in" (the user wrote) | "out" (the service sent)
    text: str


class Conversation:
    """Everything said, in order, with a wait for the service's next message; with
    ``keep=False`` only counts what was sent per platform (for load)."""

    def __init__(self, *, keep: bool = True) -> None:
        self._lines: list[Said] = []
        self._changed = threading.Condition()
        self._keep = keep
        self.counts: dict[str, int] = {}

    def add(self, said: Said) -> None:
        with self._changed:
            if said.direction == "out":
                self.counts[said.platform] = self.counts.get(said.platform, 0) + 1
            if self._keep:
                self._lines.append(said)
                self._changed.notify_all()

    def lines(self, user: str | None = None) -> list[Said]:
        with self._changed:
            return [s for s in self._lines if user is None or s.user == user]

    def wait_out(self, user: str, count: int, timeout: float = 30.0) -> list[Said]:
        """Block until ``user`` has received ``count`` messages; returns them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                got = [s for s in self._lines if s.user == user and s.direction == "out"]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{user} received {len(got)} of {count} messages")
                self._changed.wait(left)


class PlatformSim:
    """Both platforms' send APIs on one loopback port."""

    def __init__(
        self,
        *,
        zalo_token: str = "zalo-oa-token",
        sms_key: str = "sms-provider-key",
        wechat_app_id: str = "wx-sim",
        wechat_secret: str = "wx-secret",
        host: str = "127.0.0.1",
        port: int = 0,
        keep: bool = True,
    ) -> None:
        self.conversation = Conversation(keep=keep)
        self.zalo_token = zalo_token
        self.sms_key = sms_key
        self.wechat_app_id, self.wechat_secret = wechat_app_id, wechat_secret
        self.wechat_token = secrets.token_hex(16)
        self.fail_next = 0
        self.requests = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> PlatformSim:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def __enter__(self) -> PlatformSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def expire_token(self) -> None:
        self.wechat_token = secrets.token_hex(16)

    def _failing(self) -> bool:
        with self._lock:
            self.requests += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return True
            return False

    def _zalo_send(self, headers: Any, body: dict[str, Any]) -> dict[str, Any]:
        if headers.get("access_token") != self.zalo_token:
            return {"error": -216, "message": "Access token is invalid"}
        if self._failing():
            return {"error": -32, "message": "Request limit exceeded"}
        user = str(body.get("recipient", {}).get("user_id", ""))
        text = str(body.get("message", {}).get("text", ""))
        if not user or not text:
            return {"error": -201, "message": "Parameters are invalid"}
        self.conversation.add(Said("zalo", user, "out", text))
        return {"error": 0, "message": "Success", "data": {"message_id": str(next(self._ids))}}

    def _wechat_token(self, query: dict[str, list[str]]) -> dict[str, Any]:
        if query.get("appid") != [self.wechat_app_id] or query.get("secret") != [
            self.wechat_secret
        ]:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return {"access_token": self.wechat_token, "expires_in": 7200}

    def _wechat_send(self, query: dict[str, list[str]], body: dict[str, Any]) -> dict[str, Any]:
        if query.get("access_token") != [self.wechat_token]:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if self._failing():
            return {"errcode": -1, "errmsg": "system error"}
        user, text = body.get("touser"), body.get("text", {}).get("content")
        if not isinstance(user, str) or not isinstance(text, str) or body.get("msgtype") != "text":
            return {"errcode": 40003, "errmsg": "invalid openid"}
        self.conversation.add(Said("wechat", user, "out", text))
        return {"errcode": 0, "errmsg": "ok"}

    def _sms_send(self, headers: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if headers.get("Authorization") != f"Bearer {self.sms_key}":
            return 401, {"error": "bad key"}
        if self._failing():
            return 503, {"error": "try later"}
        to, text = body.get("to"), body.get("text")
        if not isinstance(to, str) or not isinstance(text, str) or not to.lstrip("+").isdigit():
            return 400, {"error": "to and text are required"}
        self.conversation.add(Said("sms", to, "out", text))
        return 202, {"id": str(next(self._ids))}

    def _sms_batch(self, headers: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        messages = body.get("messages")
        if not isinstance(messages, list) or not 0 < len(messages) <= 1000:
            return 400, {"error": "messages: a list of 1 to 1000"}
        if headers.get("Authorization") != f"Bearer {self.sms_key}":
            return 401, {"error": "bad key"}
        if self._failing():
            return 503, {"error": "try later"}
        results: list[dict[str, Any]] = []
        for m in messages:
            to, text = m.get("to"), m.get("text")
            if not isinstance(to, str) or not isinstance(text, str) or not to.lstrip("+").isdigit():
                results.append({"error": "to and text are required"})
                continue
            self.conversation.add(Said("sms", to, "out", text))
            results.append({"id": str(next(self._ids))})
        return 200, {"results": results}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/cgi-bin/token":
                    self._answer(sim._wechat_token(parse_qs(url.query)))
                elif url.path == "/stats":
                    self._answer(dict(sim.conversation.counts))
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                if not isinstance(body, dict):
                    body = {}
                if url.path == "/v3.0/oa/message/cs":
                    self._answer(sim._zalo_send(self.headers, body))
                elif url.path == "/cgi-bin/message/custom/send":
                    self._answer(sim._wechat_send(parse_qs(url.query), body))
                elif url.path == "/messages/batch":
                    status, answer = sim._sms_batch(self.headers, body)
                    self._answer(answer, status)
                elif url.path == "/messages":
                    status, answer = sim._sms_send(self.headers, body)
                    self._answer(answer, status)
                else:
                    self.send_error(404)

        return Handler
