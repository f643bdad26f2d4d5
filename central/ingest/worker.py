"""An ingest worker: subscribes to every uplink channel (optionally through a shared
subscription, ``$share/<group>/...``, so several workers split the load) and stores messages.

paho's thread only queues messages. A store thread takes what is queued (up to
``max_messages``), writes it in one transaction and only then acknowledges each message to the
broker (paho's manual acknowledgement) and confirms the batches to their gateways
(``IngestAck`` on each gateway's ``ack`` topic). A worker killed mid-batch leaves its messages
unacknowledged with the broker, which delivers them again.

Nothing a message holds can stop ingest:

* a payload that does not parse is quarantined with its reason, in the same transaction;
* a transaction that fails for a reason of its own (a value the database refuses) is split
  in halves until the message at fault is alone; that message is quarantined with the error;
* only a database that cannot be reached (or is busy) is retried, with back-off, and the
  worker's health says so until it is back;
* the store thread survives any exception; should it end anyway, or hang, health fails (503
  on ``/healthz``) and the systemd watchdog restarts the service.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from central.ingest.acks import acknowledgements, key
from central.ingest.broker import configure_client
from central.ingest.parse import Item, Rejected, parse, printable
from central.ingest.store import StoreResult, store
from central.settings import BrokerSettings
from contract import mqtt as contract

log = structlog.get_logger(__name__)

CHANNELS: tuple[contract.Channel, ...] = ("readings", "status", "events", "payments", "replies")
BUSY_WORDS = ("locked", "busy", "deadlock", "could not serialize", "timeout", "timed out")


@dataclass(frozen=True, slots=True)
class _Incoming:
    mid: int
    qos: int
    topic: str
    payload: bytes
    received: float  # monotonic


@dataclass(frozen=True, slots=True)
class IngestHealth:
    alive: bool  # the store thread runs and has not stalled
    connected: bool
    database_ok: bool
    retrying_s: float  # how long the current batch has waited for the database, 0 if not
    queued: int
    lag_s: float  # age of the oldest message received but not yet stored
    last_stored_at: datetime | None
    last_error: str
    totals: StoreResult
    db_failures: int
    isolated: int  # messages quarantined because the database refused them

    @property
    def ok(self) -> bool:
        return self.alive and self.database_ok


class IngestWorker:
    def __init__(
        self,
        settings: BrokerSettings,
        engine: Engine,
        *,
        max_messages: int = 200,
        max_bytes: int = 8 * 1024 * 1024,
        receive_maximum: int = 1000,
        max_skew: timedelta = timedelta(minutes=5),
        stall_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.max_skew = max_skew  # statuses/events dated further ahead are quarantined
        self.engine = engine
        self.max_messages = max_messages
        self.max_bytes = max_bytes  # per transaction: a few seconds of work at most
        self.receive_maximum = receive_maximum
        self.stall_s = stall_s
        self.clock = clock
        self.totals = StoreResult()
        self.db_failures = 0
        self.isolated = 0
        self.acks_sent = 0
        self.connected = threading.Event()
        self.heartbeat = clock()
        self.database_ok = True
        self.retrying_since: float | None = None
        self.last_stored_at: datetime | None = None
        self.last_error = ""
        self._pending_since: float | None = None
        self._queue: queue.Queue[_Incoming] = queue.Queue()
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
        self.client.on_subscribe = self._on_subscribe
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

    def health(self) -> IngestHealth:
        now = self.clock()
        thread = self._thread
        alive = thread is not None and thread.is_alive() and now - self.heartbeat < self.stall_s
        with self._queue.mutex:
            head = self._queue.queue[0].received if self._queue.queue else None
            queued = len(self._queue.queue)
        oldest = min((t for t in (self._pending_since, head) if t is not None), default=None)
        return IngestHealth(
            alive=alive,
            connected=self.connected.is_set(),
            database_ok=self.database_ok,
            retrying_s=0.0 if self.retrying_since is None else now - self.retrying_since,
            queued=queued,
            lag_s=0.0 if oldest is None else max(0.0, now - oldest),
            last_stored_at=self.last_stored_at,
            last_error=self.last_error,
            totals=self.totals,
            db_failures=self.db_failures,
            isolated=self.isolated,
        )

    # -- paho's thread -------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("broker refused ingest", reason=str(reason))
            return
        group = self.settings.share_group
        client.subscribe([(contract.topic_filter(c, share_group=group), 1) for c in CHANNELS])

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.error("broker refused ingest's subscriptions", reasons=refused)
            return
        self.connected.set()  # subscribed: from now on the broker keeps what arrives for us
        log.info(
            "ingest subscribed",
            share_group=self.settings.share_group,
            client_id=self.settings.client_id,
        )

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        level = log.warning if reason.is_failure else log.info
        level("ingest disconnected", reason=str(reason))

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._queue.put(
            _Incoming(message.mid, message.qos, message.topic, bytes(message.payload), self.clock())
        )

    # -- the store thread ----------------------------------------------------------------------
    def _take(self) -> list[_Incoming]:
        try:
            batch = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        size = len(batch[0].payload)
        while len(batch) < self.max_messages and size < self.max_bytes:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
            size += len(batch[-1].payload)
        return batch

    def _store_loop(self) -> None:
        while not self._stopping.is_set():
            self.heartbeat = self.clock()
            batch = self._take()
            if not batch:
                continue
            self._pending_since = batch[0].received
            try:
                self._handle(batch)
            except _Stopping:
                return
            except Exception as exc:  # a defect of ours: log it, keep ingesting
                self.last_error = printable(f"{type(exc).__name__}: {exc}", 300)
                log.exception("ingest batch failed; its messages stay unacknowledged")
            finally:
                self._pending_since = None

    def _handle(self, batch: list[_Incoming]) -> None:
        items: list[Item] = [parse(m.topic, m.payload) for m in batch]
        result = self._store(items, batch)
        for m in batch:
            if m.qos:
                self.client.ack(m.mid, m.qos)
        for ack in acknowledgements(items):
            self.client.publish(
                contract.topic(ack.gateway_id, "ack"), ack.model_dump_json().encode(), qos=1
            )
            self.acks_sent += 1
        self.totals.add(result)
        self.last_stored_at = datetime.now(UTC)

    def _store(self, items: list[Item], batch: Sequence[_Incoming]) -> StoreResult:
        """Store ``items`` (one transaction), or split them to find the message at fault."""
        try:
            result = self._commit(items)
        except _Refused as refused:
            if len(items) > 1:
                half = len(items) // 2
                result = self._store(items[:half], batch[:half])
                result.add(self._store(items[half:], batch[half:]))
                return result
            m = batch[0]
            reason = printable(f"could not be stored: {refused.reason}")
            log.error("message quarantined: the database refused it", topic=m.topic, reason=reason)
            self.isolated += 1
            k = key(items[0])
            items[0] = Rejected(m.topic, m.payload, reason, *(k or (None, None, None)))
            return self._commit([items[0]])
        for item in items:
            if isinstance(item, Rejected):
                log.warning("payload quarantined", topic=item.topic, reason=item.reason)
        return result

    def _commit(self, items: list[Item]) -> StoreResult:
        """One transaction. Retries while the database is away (or busy); raises ``_Refused``
        when it answers but refuses this transaction."""
        attempt = 0
        while True:
            self.heartbeat = self.clock()
            try:
                result = store(self.engine, items, max_skew=self.max_skew)
            except Exception as exc:  # every failure is sorted below: retried or refused
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if not isinstance(exc, OperationalError | InterfaceError) or (
                    not self._busy(exc) and self._database_answers()
                ):
                    raise _Refused(f"{type(exc).__name__}: {first}") from exc
                self.db_failures += 1
                self.database_ok = self._database_answers()
                self.last_error = printable(first, 300)
                if self.retrying_since is None:
                    self.retrying_since = self.clock()
                    log.error("could not store batch; retrying", error=first)
                self._sleep(min(10.0, 0.2 * 2**attempt) * (0.5 + random.random()))
                attempt += 1
                continue
            if self.retrying_since is not None:
                log.info("database back", waited_s=round(self.clock() - self.retrying_since, 1))
            self.retrying_since = None
            self.database_ok = True
            return result

    @staticmethod
    def _busy(exc: Exception) -> bool:
        """Locked, busy, a deadlock or a serialisation failure: try again, whatever it takes."""
        message = str(getattr(exc, "orig", exc)).lower()
        return any(w in message for w in BUSY_WORDS)

    def _database_answers(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (DBAPIError, OSError):
            return False
        return True

    def _sleep(self, seconds: float) -> None:
        """Wait, staying alive for health, and give up when stopping."""
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            if self._stopping.wait(min(left, 1.0)):
                raise _Stopping
            self.heartbeat = self.clock()

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 7 * 24 * 3600
        props.ReceiveMaximum = self.receive_maximum
        self.heartbeat = self.clock()
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
            if self._queue.empty() and self._pending_since is None:
                return True
            time.sleep(0.05)
        return False


class _Refused(Exception):
    """The database answered and refused this transaction: the batch, not the database."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Stopping(Exception):
    """The worker is stopping while waiting for the database."""
