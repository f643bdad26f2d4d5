"""A running gateway, on the shipped broker configuration, runs only what central signed for it:
unsigned, badly signed, expired and replayed commands are refused, answered with the reason and
raised as ``command_refused`` events that central's ingest stores. Commands are published with
central's own broker credentials, so only the signature stands between them and the gateway
(a stolen central password, or a broker that is not to be trusted)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.ingest import CommandReplyRow, GatewayEventRow
from central.ingest.commands import CommandPublisher
from central.ingest.worker import IngestWorker
from contract import mqtt as contract
from contract.command_signature import sign_command
from gateway.daemon import Gateway
from gateway.settings import (
    DownlinkSettings,
    GatewaySettings,
    MetricsSettings,
    OutboxSettings,
    StatusSettings,
)
from tests.integration.identity.conftest import Site, until
from tests.support.mqtt import wait_for
from tests.support.procs import LoopThread
from tests.support.secure_broker import Client
from tests.support.signing import CENTRAL_KEY, CENTRAL_PUBLIC, signed_bytes


@dataclass
class Running:
    gateway: Gateway
    levels: list[str]
    central: Client  # central's broker credentials, no signing key
    publisher: CommandPublisher
    settings: GatewaySettings


@pytest.fixture
def running(site: Site, tmp_path: Path) -> Iterator[Running]:
    worker = IngestWorker(site.broker.central_broker("m2c-central-ingest"), site.engine)
    worker.start()
    publisher = CommandPublisher(
        site.broker.central_broker("m2c-central-cmd"), signing_key=CENTRAL_KEY
    )
    publisher.start()
    gw = tmp_path / "gw"
    settings = GatewaySettings(
        gateway_id="gw-a",
        mqtt=site.broker.gateway_mqtt("gw-a", site.a.password),
        outbox=OutboxSettings(path=gw / "outbox.db"),
        metrics=MetricsSettings(enabled=False),
        status=StatusSettings(path=gw / "status.json"),
        downlink=DownlinkSettings(pushed_config=gw / "pushed.json", central_keys=(CENTRAL_PUBLIC,)),
    )
    levels: list[str] = []
    gateway = Gateway(settings, set_log_level=levels.append)
    loop = LoopThread()
    run = asyncio.run_coroutine_threadsafe(gateway.run(), loop.loop)
    central = Client(
        site.broker.central_port,
        site.broker.pki.ca,
        client_id="m2c-central-forger",
        username="m2c-central",
        password=site.broker.central_password,
    )
    try:
        assert central.wait_connected()
        assert worker.connected.wait(10)
        wait_for(lambda: gateway.uplink.connected, 15, "the gateway connected over TLS")
        wait_for(lambda: publisher.connected.is_set(), 10, "central's publisher connected")
        probes = iter(range(1000))

        def probe() -> None:
            cmd = contract.Command(
                id=f"probe-{next(probes)}", kind="read_now", args={"meter_id": "probe"}
            )
            publisher.send("gw-a", cmd)

        until(
            lambda: any(k.startswith("probe-") for k in _replies(site)),
            probe,
            "a command round trip (both subscriptions in place)",
        )
        yield Running(gateway, levels, central, publisher, settings)
    finally:
        loop.loop.call_soon_threadsafe(gateway.stop)
        run.result(20)
        loop.close()
        central.close()
        publisher.stop()
        worker.stop()


def _replies(site: Site) -> dict[str, tuple[bool, str]]:
    with Session(site.engine) as session:
        rows = session.scalars(select(CommandReplyRow)).all()
    return {r.command_id: (r.ok, r.reason) for r in rows}


def _refusals(site: Site) -> dict[str, str]:
    with Session(site.engine) as session:
        rows = session.scalars(
            select(GatewayEventRow).where(GatewayEventRow.kind == "command_refused")
        )
        return {e.subject: json.loads(e.detail)["refusal"] for e in rows}


def test_a_running_gateway_refuses_what_central_did_not_sign(site: Site, running: Running) -> None:
    cmd_topic = contract.topic("gw-a", "cmd")
    # Central's API path: signed, runs.
    ok = contract.Command(id="ok-1", kind="set_log_level", args={"level": "debug"})
    assert running.publisher.send("gw-a", ok)
    wait_for(lambda: "ok-1" in _replies(site), 15, "the signed command's reply at central")
    assert _replies(site)["ok-1"] == (True, "log level debug")
    assert running.levels == ["debug"]

    # A broker move, unsigned: the attack the issue names.
    move = {"settings": {"mqtt": {"host": "broker.evil.example", "port": 1883}}}
    unsigned = contract.Command(id="u-1", kind="config", args=move)
    running.central.publish(cmd_topic, unsigned.model_dump_json().encode())
    # Signed by someone else's key, expired, and the same move signed but 2 hours old.
    other = Ed25519PrivateKey.generate()
    forged = sign_command(
        contract.Command(id="b-1", kind="config", args=move), "gw-a", other, now=datetime.now(UTC)
    )
    running.central.publish(cmd_topic, forged.model_dump_json().encode())
    stale = contract.Command(id="x-1", kind="config", args=move)
    past = datetime.now(UTC) - timedelta(hours=2)
    running.central.publish(cmd_topic, signed_bytes(stale, "gw-a", now=past))
    # A signed command, then the very same bytes again (captured and replayed).
    good = signed_bytes(
        contract.Command(id="ok-2", kind="set_log_level", args={"level": "info"}), "gw-a"
    )
    running.central.publish(cmd_topic, good)
    wait_for(lambda: "ok-2" in _replies(site), 15, "the second signed command's reply")
    running.central.publish(cmd_topic, good)

    expected = {"u-1": "unsigned", "b-1": "bad_signature", "x-1": "expired", "ok-2": "replayed"}
    wait_for(lambda: _refusals(site) == expected, 15, "four refusals raised at central")
    replies = _replies(site)
    assert replies["u-1"][0] is False
    assert "not signed" in replies["u-1"][1]
    assert "does not match" in replies["b-1"][1]
    assert "expired at" in replies["x-1"][1]
    assert replies["ok-2"] == (True, "log level info")  # the first answer stands
    assert running.levels == ["debug", "info"]  # the replay did not run again
    assert running.gateway.downlink.refused == {
        "unsigned": 1,
        "bad_signature": 1,
        "expired": 1,
        "replayed": 1,
    }
    # The broker was not moved: nothing pushed, still on the same broker.
    assert not running.settings.downlink.pushed_config.exists()
    assert running.gateway.config.current.mqtt.host == "127.0.0.1"
    assert running.gateway.uplink.connected
