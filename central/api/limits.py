"""Request body limits, as an ASGI middleware in front of every route.

A request that announces a ``Content-Length`` over its route's limit gets a 413 before one byte
of its body is read; a body without a length (chunked) is counted as it arrives and refused
with a 413 as soon as it passes the limit, so no route ever holds more than its limit in memory.
The Excel import, contract files and the reading app's photos have larger limits than the
JSON routes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class BodyLimits:
    """The default limit and larger ones for routes that take files (path regexes)."""

    default: int = 256 * KIB
    routes: tuple[tuple[str, int], ...] = field(
        default=(
            (r"/api/v1/customers/import", 32 * MIB),  # an Excel workbook
            (r"/api/v1/contracts/[^/]+/files", 21 * MIB),  # a scanned contract (20 MiB)
            (r"/api/v1/readings/manual", 8 * MIB),  # a photo of 5 MiB, in base64
        )
    )

    def for_path(self, path: str) -> int:
        for pattern, limit in self.routes:
            if re.fullmatch(pattern, path):
                return limit
        return self.default


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit (FastAPI re-raises it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the {limit} byte limit of this route")
        self.limit = limit


def too_large_body(limit: int) -> bytes:
    return json.dumps(
        {"detail": f"request body over the {limit} byte limit of this route"}
    ).encode()


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = too_large_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
