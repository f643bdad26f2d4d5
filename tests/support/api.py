"""Call central's REST API in-process through httpx's ASGI transport (no server, no thread)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import Engine

from central.app import create_app


class Api:
    def __init__(self, engine: Engine) -> None:
        self.app = create_app(engine)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://central") as c:
                return await c.request(method, path, **kw)

        return asyncio.run(call())
