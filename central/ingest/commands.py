"""Downlink from central: publish a Command to one gateway (QoS 1, retained by the broker in
the gateway's persistent session while it is offline). The gateway's answer comes back as a
CommandReply that ingest stores (``GET /api/v1/gateways/{id}/replies``).

Every command is signed with central's Ed25519 key for its target gateway and carries an expiry
(``contract.command_signature``); a gateway runs nothing else."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from central.ingest.broker import configure_client
from central.settings import BrokerSettings
from contract import mqtt as contract
from contract.command_signature import DEFAULT_TTL, sign_command

log = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class CommandPublisher:
    def __init__(
        self,
        settings: BrokerSettings,
        *,
        signing_key: Ed25519PrivateKey,
        ttl: timedelta = DEFAULT_TTL,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.settings = settings
        self.signing_key = signing_key
        self.ttl = ttl
        self.clock = clock
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{settings.client_id}-cmd-{uuid.uuid4().hex[:8]}",  # one per API process
            protocol=mqtt.MQTTv5,
        )
        configure_client(self.client, settings)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self.connected.clear()
        self.client.reconnect_delay_set(min_delay=1, max_delay=15)

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            self.connected.set()

    def start(self) -> None:
        self.client.connect_async(self.settings.host, self.settings.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def send(self, gateway_id: str, command: contract.Command, *, timeout: float = 5.0) -> bool:
        """Sign ``command`` for ``gateway_id`` and publish it; True once the broker acknowledged
        it (PUBACK), False on timeout."""
        command = sign_command(
            command, gateway_id, self.signing_key, now=self.clock(), ttl=self.ttl
        )
        info = self.client.publish(
            contract.topic(gateway_id, "cmd"), command.model_dump_json().encode(), qos=1
        )
        deadline = time.monotonic() + timeout
        while not info.is_published() and time.monotonic() < deadline:
            time.sleep(0.01)
        published = info.is_published()
        log.info("command sent", gateway=gateway_id, command=command.id, published=published)
        return published
