"""Call central's REST API in-process through httpx's ASGI transport (no server, no thread),
with an API key of ``role`` (admin by default; ``role=None``: no credentials)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import Engine

from central.app import create_app
from central.auth import Role
from tests.support.auth import key_headers


class Api:
    def __init__(self, engine: Engine, *, role: Role | None = Role.ADMIN) -> None:
        self.app = create_app(engine)
        self.headers = {} if role is None else key_headers(engine, role)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}

        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://central", headers=headers
            ) as c:
                return await c.request(method, path, **kw)

        return asyncio.run(call())
