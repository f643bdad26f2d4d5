"""An ingest worker: subscribes (optionally through a shared subscription) and stores batches.

PUBACK is sent only after the batch is committed (paho's manual acknowledgement), so a worker
killed mid-batch leaves the message with the broker, which delivers it again.
"""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from central.ingest.store import store_batch
from central.settings import BrokerSettings
from contract import mqtt as contract

log = structlog.get_logger(__name__)


class IngestWorker:
    def __init__(self, settings: BrokerSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.stored = 0
        self.duplicates = 0
        self.malformed = 0
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if settings.username:
            self.client.username_pw_set(settings.username, settings.password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=15)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused ingest", reason=str(reason))
            return
        group = self.settings.share_group
        client.subscribe(contract.topic_filter("readings", share_group=group), qos=1)
        self.connected.set()
        log.info("ingest subscribed", share_group=group)

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            batch = contract.ReadingsBatch.model_validate_json(message.payload)
        except ValidationError as exc:
            self.malformed += 1
            log.warning(
                "malformed readings payload", topic=message.topic, error=str(exc).splitlines()[0]
            )
            client.ack(message.mid, message.qos)
            return
        try:
            new = store_batch(self.engine, batch)
        except SQLAlchemyError as exc:
            # Not acknowledged: the broker redelivers after we reconnect.
            log.error(
                "could not store batch",
                gateway=batch.gateway_id,
                seq=batch.seq,
                error=str(exc).splitlines()[0],
            )
            client.disconnect()
            return
        self.stored += new
        self.duplicates += len(batch.readings) - new
        client.ack(message.mid, message.qos)

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 7 * 24 * 3600
        self.client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=30,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
