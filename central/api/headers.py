"""Headers on what central serves: ``nosniff`` on every answer, downloads as attachments with
RFC 6266 / RFC 5987 file names.

A stored file is served with the type it was checked against at upload, as an attachment and
with ``X-Content-Type-Options: nosniff``, so a browser never renders an upload as a page. A file
name may be anything a person typed (Vietnamese, Chinese): the header carries an ASCII fallback
in ``filename`` and the exact name, UTF-8 and percent-encoded, in ``filename*``.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

from fastapi import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_UNSAFE = set('"\\/;') | {chr(c) for c in range(32)} | {"\x7f"}


def _clean(name: str) -> str:
    """The name without control characters, quotes, separators and leading dots."""
    cleaned = "".join("_" if ch in _UNSAFE else ch for ch in name).strip().lstrip(".")
    return cleaned[:200] or "download"


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in folded if ord(ch) < 128 and not unicodedata.combining(ch))
    text = "".join(ch if ch.isprintable() else "_" for ch in text)
    return text.strip() or "download"


def content_disposition(filename: str) -> str:
    """``attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>`` (RFC 6266)."""
    name = _clean(filename)
    fallback = _ascii(name)
    header = f'attachment; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def file_responses(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answer of a download route: a binary body of one of ``media_types``."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": "The file", "content": dict.fromkeys(media_types, binary)}}


def attachment(data: bytes, *, media_type: str, filename: str) -> Response:
    """A download: the bytes, their checked type, as an attachment, never sniffed."""
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
        },
    )


class NoSniffMiddleware:
    """``X-Content-Type-Options: nosniff`` on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"x-content-type-options"
                ]
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_header)
