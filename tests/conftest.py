"""Shared fixtures: a private broker, and central's database on SQLite and on PostgreSQL.

``db_url`` is parametrised over both backends. Outside CI an unreachable PostgreSQL skips
those cases with the reason; under CI (``CI`` set) it fails, so a missing database never
passes silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.broker import Mosquitto
from tests.support.db import postgres_available, postgres_schema_url, sqlite_url


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


@pytest.fixture
def new_mosquitto(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Make brokers a test starts itself (other ports, TLS, late start); all are killed when
    the test ends, passed or failed."""
    made: list[Mosquitto] = []

    def make(workdir: Path | None = None, **options: object) -> Mosquitto:
        broker = Mosquitto(workdir or tmp_path / f"mosquitto-{len(made)}", **options)  # type: ignore[arg-type]
        made.append(broker)
        return broker

    try:
        yield make
    finally:
        for broker in made:
            broker.kill()


def _postgres_or_skip() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is unreachable under CI: {reason}")
    pytest.skip(f"PostgreSQL unreachable (set CI to make this fail): {reason}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    _postgres_or_skip()
    with postgres_schema_url() as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    _postgres_or_skip()
    with postgres_schema_url() as url:
        yield url
