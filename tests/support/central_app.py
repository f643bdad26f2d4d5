"""A migrated central app on a test database, served by a real uvicorn in a thread, with a
fixed clock, and an httpx client pointing at it that carries an API key (admin by default)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from central.app import create_app
from central.auth import Role
from central.db.engine import make_engine
from central.db.migrate import upgrade
from tests.support.auth import key_headers

FIXED_NOW = datetime(2025, 7, 5, 3, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(app: object, *, port: int | None = None) -> Iterator[str]:
    port = port or _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a loaded machine starts uvicorn slowly
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Central:
    """A served app: its base URL, engine and app; ``client()`` opens one as a role."""

    base: str
    engine: Engine
    app: FastAPI

    def headers(self, role: Role | None = Role.ADMIN) -> dict[str, str]:
        return {} if role is None else key_headers(self.engine, role)

    @contextmanager
    def client(self, role: Role | None = Role.ADMIN) -> Iterator[httpx.Client]:
        """A client sending an API key of ``role``; ``role=None``: no credentials."""
        with httpx.Client(base_url=self.base, headers=self.headers(role), timeout=30) as c:
            yield c


@contextmanager
def central_server(
    db_url: str, *, now: datetime | None = FIXED_NOW, clock: Callable[[], datetime] | None = None
) -> Iterator[Central]:
    engine = make_engine(db_url)
    upgrade(engine)
    if clock is None:
        fixed = now or FIXED_NOW
        clock = lambda: fixed  # noqa: E731
    app = create_app(engine, clock=clock)
    try:
        with serve(app) as base:
            yield Central(base, engine, app)
    finally:
        engine.dispose()


@contextmanager
def central_client(
    db_url: str, *, now: datetime = FIXED_NOW, role: Role | None = Role.ADMIN
) -> Iterator[httpx.Client]:
    """A client as ``role`` (admin by default; ``None``: anonymous) on a fresh server."""
    with central_server(db_url, now=now) as central, central.client(role) as client:
        yield client
