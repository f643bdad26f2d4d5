"""A broker with the shipped configuration, two gateways enrolled through central's real
enrollment code (so Mosquitto reads the password lines it wrote), and central's database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.identity.enrollment import enroll
from contract.command_signature import public_key_text
from tests.support.db import sqlite_url
from tests.support.secure_broker import SecureBroker


@dataclass
class Enrolled:
    gateway_id: str
    password: str
    receipt_key: Ed25519PrivateKey


@dataclass
class Site:
    broker: SecureBroker
    engine: Engine
    a: Enrolled
    b: Enrolled


def enroll_new(engine: Engine, broker: SecureBroker, gateway_id: str) -> Enrolled:
    key = Ed25519PrivateKey.generate()
    done = enroll(
        engine,
        gateway_id,
        public_key_text(key.public_key()),
        password_file=broker.gateways_passwd,
        now=datetime.now(UTC),
    )
    return Enrolled(gateway_id, done.password, key)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    engine = make_engine(sqlite_url(tmp_path))
    upgrade(engine)
    broker = SecureBroker(tmp_path / "mosquitto")
    a = enroll_new(engine, broker, "gw-a")
    b = enroll_new(engine, broker, "gw-b")
    broker.start()
    try:
        yield Site(broker, engine, a, b)
    finally:
        broker.kill()
        engine.dispose()


def until(
    done: Callable[[], bool], nudge: Callable[[], object], what: str, *, timeout: float = 20
) -> None:
    """``nudge`` (a probe message) until ``done``: a subscription a client has asked for is in
    place only once the broker has processed it, and a fresh session keeps nothing sent before.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        nudge()
        step = time.monotonic() + 1.0
        while time.monotonic() < step:
            if done():
                return
            time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
