"""Strict JSON at the door: ``NaN``, ``Infinity``, numbers that overflow to infinity, integers
of absurd length and nesting deep enough to exhaust the parser are refused with a 422 before
any route sees the body.

Python's ``json`` (which FastAPI parses with) accepts ``NaN`` and ``Infinity``; they are not
JSON (RFC 8259) and break every later step (sums, comparisons, JSON answers). This middleware
reads a JSON body (already bounded by :mod:`central.api.limits`), checks it with a strict
parse and hands the same bytes on. A body that is not JSON at all is left to the route.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_INT_DIGITS = 32  # far above any 64-bit id or amount; refuses 100,000-digit numbers


class NotStrictJson(ValueError):
    """A JSON value that strict JSON does not have."""


def _constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotStrictJson(f"{text[:40]} is out of range for a number")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise NotStrictJson(f"an integer of {len(text)} digits is out of range")
    return int(text)


def check(body: bytes) -> str | None:
    """Why ``body`` is not strict JSON, or None when it is (or is not JSON at all)."""
    try:
        json.loads(body, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except NotStrictJson as exc:
        return str(exc)
    except RecursionError:
        return "the document is nested too deeply"
    except ValueError:  # not JSON (or not UTF-8): the route's own parser answers
        return None
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class StrictJsonMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        reason = check(body)
        if reason is not None:
            await _refuse(send, reason)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, reason: str) -> None:
    body = json.dumps(
        {"detail": [{"type": "json_invalid", "loc": ["body"], "msg": f"JSON: {reason}"}]}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
