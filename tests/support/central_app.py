"""A migrated central app on a test database, served by a real uvicorn in a thread, with a
fixed clock, and an httpx client pointing at it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import uvicorn

from central.app import create_app
from central.db.engine import make_engine
from central.db.migrate import upgrade

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
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def central_client(db_url: str, *, now: datetime = FIXED_NOW) -> Iterator[httpx.Client]:
    engine = make_engine(db_url)
    upgrade(engine)
    app = create_app(engine, clock=lambda: now)
    try:
        with (
            serve(app) as base,
            httpx.Client(base_url=base, headers={"X-Operator": "op-lan"}, timeout=30) as client,
        ):
            yield client
    finally:
        engine.dispose()
