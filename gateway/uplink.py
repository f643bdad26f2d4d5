"""MQTT uplink: drains the outbox with QoS 1; a message's readings leave only on PUBACK.

paho-mqtt runs its network loop in its own thread; PUBACKs come back through ``on_publish``
and are handed to the outbox from there. paho keeps unacknowledged messages in memory only,
so after a restart the outbox resends them under the same sequence numbers.
"""

from __future__ import annotations

import asyncio
import json
import queue
import random
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from contract import mqtt as contract
from gateway.outbox import Message, Outbox
from gateway.settings import MqttSettings

log = structlog.get_logger(__name__)


class Uplink:
    def __init__(
        self,
        settings: MqttSettings,
        gateway_id: str,
        outbox: Outbox,
        *,
        software: str = "meter2cash",
        on_command: Callable[[bytes], None] | None = None,
    ) -> None:
        self.settings = settings
        self.gateway_id = gateway_id
        self.outbox = outbox
        self.software = software
        self.on_command = on_command
        # Touched only by the thread running ``run()``; paho's thread only queues PUBACK mids
        # (holding a lock of ours inside paho's callbacks could deadlock against publish()).
        self._mid_to_seq: dict[int, int] = {}
        self._early_acks: set[int] = set()
        self._sent: set[int] = set()  # sequence numbers handed to paho in this process
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._connected = threading.Event()
        self.published = 0  # readings acknowledged by the broker since start
        self.client = self._make_client()

    # -- paho wiring -------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        s = self.settings
        v5 = s.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"m2c-gw-{self.gateway_id}",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
        )
        client.max_inflight_messages_set(s.max_inflight)
        client.max_queued_messages_set(0)
        if s.username:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
            if s.cert_file:
                context.load_cert_chain(str(s.cert_file), str(s.key_file) if s.key_file else None)
            client.tls_set_context(context)
        will = self._status_payload("offline")
        client.will_set(contract.topic(self.gateway_id, "status"), will, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _status_payload(self, state: Literal["online", "offline"]) -> bytes:
        status = contract.GatewayStatus(
            gateway_id=self.gateway_id,
            state=state,
            ts=datetime.now(UTC),
            software=self.software,
        )
        return status.model_dump_json().encode()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("mqtt connect refused", reason=str(reason))
            return
        log.info("mqtt connected", host=self.settings.host, port=self.settings.port)
        client.publish(
            contract.topic(self.gateway_id, "status"),
            self._status_payload("online"),
            qos=1,
            retain=True,
        )
        client.subscribe(contract.topic(self.gateway_id, "cmd"), qos=1)
        self._connected.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        log.warning("mqtt disconnected", reason=str(reason))

    def _on_publish(self, _c: Any, _u: Any, mid: int, _reason: Any, _p: Any) -> None:
        self._acks.put(mid)

    def _drain_acks(self) -> None:
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                return
            seq = self._mid_to_seq.pop(mid, None)
            if seq is None:
                self._early_acks.add(mid)  # PUBACK came before publish() returned its mid
            else:
                self.published += self.outbox.acknowledge(seq)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if self.on_command is not None:
            self.on_command(bytes(message.payload))

    # -- running -----------------------------------------------------------------------------
    def start(self) -> None:
        props = None
        if self.settings.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.settings.session_expiry_s
        self.client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive_s,
            clean_start=False if props else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props,
        )
        self.client.loop_start()

    def stop(self) -> None:
        if self._connected.is_set():
            info = self.client.publish(
                contract.topic(self.gateway_id, "status"),
                self._status_payload("offline"),
                qos=1,
                retain=True,
            )
            info.wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    async def run(self, stop: asyncio.Event, *, idle_s: float = 0.05) -> None:
        """Publish outbox messages while connected, keeping at most ``max_inflight`` in flight."""
        while not stop.is_set():
            self._drain_acks()
            if not self._connected.is_set() or not self._publish_some():
                await asyncio.sleep(idle_s * (1 + random.random()))
            else:
                await asyncio.sleep(0)

    def _publish_some(self) -> bool:
        if len(self._mid_to_seq) >= self.settings.max_inflight:
            return False
        pending = [m for m in self.outbox.pending_messages() if m.seq not in self._sent]
        message = pending[0] if pending else self.outbox.next_message()
        if message is None:
            return False
        self._publish(message)
        return True

    def _publish(self, message: Message) -> None:
        batch = contract.ReadingsBatch(
            gateway_id=self.gateway_id,
            seq=message.seq,
            sent_at=datetime.now(UTC),
            readings=message.readings,
        )
        # paho queues a QoS 1 message even while disconnected and sends it on reconnect.
        info = self.client.publish(
            contract.topic(self.gateway_id, "readings"), batch.model_dump_json().encode(), qos=1
        )
        self._sent.add(message.seq)
        if info.mid in self._early_acks:
            self._early_acks.discard(info.mid)
            self.published += self.outbox.acknowledge(message.seq)
        else:
            self._mid_to_seq[info.mid] = message.seq

    def publish_event(self, event: contract.Event) -> None:
        self.client.publish(
            contract.topic(self.gateway_id, "events"),
            json.dumps(event.model_dump(mode="json")).encode(),
            qos=1,
        )
