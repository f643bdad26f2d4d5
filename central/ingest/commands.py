"""Downlink from central: publish a Command to one gateway (QoS 1, retained by the broker in
the gateway's persistent session while it is offline). The gateway's answer comes back as a
CommandReply that ingest stores (``GET /api/v1/gateways/{id}/replies``)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion

from central.settings import BrokerSettings
from contract import mqtt as contract

log = structlog.get_logger(__name__)


class CommandPublisher:
    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{settings.client_id}-cmd-{uuid.uuid4().hex[:8]}",  # one per API process
            protocol=mqtt.MQTTv5,
        )
        if settings.username:
            self.client.username_pw_set(settings.username, settings.password)
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
        """True once the broker acknowledged the command (PUBACK), False on timeout."""
        info = self.client.publish(
            contract.topic(gateway_id, "cmd"), command.model_dump_json().encode(), qos=1
        )
        deadline = time.monotonic() + timeout
        while not info.is_published() and time.monotonic() < deadline:
            time.sleep(0.01)
        published = info.is_published()
        log.info("command sent", gateway=gateway_id, command=command.id, published=published)
        return published
