"""An ingest worker: subscribes to every uplink channel (optionally through a shared
subscription, ``$share/<group>/...``, so several workers split the load) and stores messages.

paho's thread only queues messages. A store thread takes what is queued (up to
``max_messages``), writes it in one transaction and only then acknowledges each message (paho's
manual acknowledgement): a worker killed mid-batch leaves its messages unacknowledged with the
broker, which delivers them again. A database failure is retried with back-off on the same
batch, never acknowledged before it is committed. A payload that cannot be parsed is
quarantined in the same transaction and acknowledged: ingest goes on.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from central.ingest.broker import configure_client
from central.ingest.parse import Rejected, parse
from central.ingest.store import StoreResult, store
from central.settings import BrokerSettings
from contract import mqtt as contract

log = structlog.get_logger(__name__)

CHANNELS: tuple[contract.Channel, ...] = ("readings", "status", "events", "payments", "replies")


@dataclass(frozen=True, slots=True)
class _Incoming:
    mid: int
    qos: int
    topic: str
    payload: bytes


class IngestWorker:
    def __init__(
        self,
        settings: BrokerSettings,
        engine: Engine,
        *,
        max_messages: int = 200,
        receive_maximum: int = 1000,
        max_skew: timedelta = timedelta(minutes=5),
    ) -> None:
        self.settings = settings
        self.max_skew = max_skew  # statuses/events dated further ahead are quarantined
        self.engine = engine
        self.max_messages = max_messages
        self.receive_maximum = receive_maximum
        self.totals = StoreResult()
        self.db_failures = 0
        self.connected = threading.Event()
        self._queue: queue.SimpleQueue[_Incoming] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        configure_client(self.client, settings)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=15)

    # Figures the walking skeleton's callers read.
    @property
    def stored(self) -> int:
        return self.totals.readings_new

    @property
    def duplicates(self) -> int:
        return self.totals.duplicates

    @property
    def malformed(self) -> int:
        return self.totals.quarantined

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused ingest", reason=str(reason))
            return
        group = self.settings.share_group
        client.subscribe([(contract.topic_filter(c, share_group=group), 1) for c in CHANNELS])
        self.connected.set()
        log.info("ingest subscribed", share_group=group, client_id=self.settings.client_id)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        level = log.warning if reason.is_failure else log.info
        level("ingest disconnected", reason=str(reason))

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._queue.put(_Incoming(message.mid, message.qos, message.topic, bytes(message.payload)))

    def _take(self) -> list[_Incoming]:
        try:
            batch = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(batch) < self.max_messages:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store_loop(self) -> None:
        while not self._stopping.is_set():
            batch = self._take()
            if not batch:
                continue
            items = [parse(m.topic, m.payload) for m in batch]
            attempt = 0
            while True:
                try:
                    result = store(self.engine, items, max_skew=self.max_skew)
                    break
                except SQLAlchemyError as exc:
                    # Not acknowledged: retried here, or redelivered if this worker dies.
                    self.db_failures += 1
                    if attempt == 0:
                        log.error("could not store batch", error=str(exc).splitlines()[0])
                    if self._stopping.wait(min(10.0, 0.2 * 2**attempt) * (0.5 + random.random())):
                        return
                    attempt += 1
            for item in items:
                if isinstance(item, Rejected):
                    log.warning("payload quarantined", topic=item.topic, reason=item.reason)
            for m in batch:
                if m.qos:
                    self.client.ack(m.mid, m.qos)
            self.totals.add(result)

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 7 * 24 * 3600
        props.ReceiveMaximum = self.receive_maximum
        self._thread = threading.Thread(target=self._store_loop, name="ingest-store", daemon=True)
        self._thread.start()
        self.client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=30,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(15)
        self.client.disconnect()
        self.client.loop_stop()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty():
                return True
            time.sleep(0.05)
        return False
