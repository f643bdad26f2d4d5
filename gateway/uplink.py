"""MQTT uplink: drains the outbox with QoS 1; a message's items leave only when central
confirmed it stored them (``IngestAck`` on the gateway's ``ack`` topic), the broker's PUBACK
only paces the stream. (Channels central does not confirm leave on the PUBACK.)

paho's network loop runs in a thread of ours (so reconnects use our back-off with jitter, and a
broker that refuses MQTT 5 is retried as 3.1.1). PUBACKs come back through ``on_publish``, which
only queues the mid: paho calls it holding its own ``_out_message_mutex``, so it must not touch
the outbox or any lock of ours; confirmations from central are queued the same way.
:meth:`Uplink.run` applies what was queued, in one outbox transaction per turn, and forms new
messages while fewer than ``max_inflight`` await a PUBACK and fewer than ``max_unconfirmed``
await central. A message the broker acknowledged but central did not confirm is sent again at
every reconnect and after ``confirm_timeout_s`` (doubling per attempt): a broker that crashed
after its PUBACK, before the message reached central, loses nothing.

paho keeps unacknowledged messages in memory only, and resends them itself after a reconnect
within one process; after a restart (or a new client, after a protocol fallback) the outbox
resends its in-flight messages under the same sequence numbers.
"""

from __future__ import annotations

import asyncio
import queue
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ValidationError

from contract import mqtt as contract
from gateway.outbox import CHANNELS, Message, Outbox
from gateway.settings import MqttSettings

log = structlog.get_logger(__name__)

UNSUPPORTED_PROTOCOL = 0x84  # MQTT 5 CONNACK reason; paho maps a 3.1.1 "refused, version" to it
MAX_CONFIRM_WAIT_S = 600.0


@dataclass(slots=True)
class _Awaiting:
    """A message the broker acknowledged, waiting for central's confirmation."""

    msg: int
    due: float  # when it is sent again unless confirmed
    attempts: int


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up. Clock injected for tests."""

    def __init__(self, rate: float, *, burst: float | None = None, clock: Callable[[], float]):
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self.clock = clock
        self.tokens = self.burst
        self.at = clock()

    def take(self) -> float:
        """Take a token; returns 0 if one was there, else the seconds until one will be."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


def backoff(attempt: int, *, low: float, high: float, rng: Callable[[], float]) -> float:
    """Exponential back-off with full jitter: uniform in [low, min(high, low * 2**attempt)]."""
    top = min(high, low * float(2 ** min(attempt, 30)))
    return float(low + (top - low) * rng())


class Uplink:
    def __init__(
        self,
        settings: MqttSettings,
        gateway_id: str,
        outbox: Outbox,
        *,
        software: str = "meter2cash",
        max_batch: int = 500,
        max_message_bytes: int = 256 * 1024,
        on_command: Callable[[bytes], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.gateway_id = gateway_id
        self.outbox = outbox
        self.software = software
        self.max_batch = max_batch
        self.max_message_bytes = max_message_bytes
        self.on_command = on_command
        self.rng = rng
        self.clock = clock
        self.confirmed: frozenset[str] = frozenset(settings.confirmed_channels)
        self.protocol: Literal["5", "3.1.1"] = settings.protocol
        self.bucket = TokenBucket(settings.rate_limit_msgs_s, clock=clock)
        # Touched only by the thread running ``run()``; paho's thread only queues PUBACK mids.
        self._mid_to_msg: dict[int, Message] = {}
        self._awaiting: dict[tuple[str, int], _Awaiting] = {}  # (channel, seq): central's word
        self._attempts: dict[int, int] = {}  # msg: times sent again for want of confirmation
        self._confirms: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._seen_connects = 0
        self._early_acks: set[int] = set()
        self._sent: set[int] = set()  # outbox messages handed to the current paho client
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._v5_refused = False
        self._control_mids: set[int] = set()  # birth messages: paho's thread only
        self._generation = 0  # bumped by the network thread when it builds a new client
        self._seen_generation = -1  # so the first step loads the outbox's in-flight messages
        self._resend: list[Message] = []
        self._thread: threading.Thread | None = None
        # Figures for metrics and status (read from other threads; plain ints are fine).
        self.published = 0  # readings that left the outbox (confirmed by central) since start
        self.messages_acked = 0  # PUBACKs
        self.messages_confirmed = 0  # messages central confirmed
        self.resent_unconfirmed = 0  # messages sent again for want of central's confirmation
        self.bad_confirmations = 0
        self.connects = 0
        self.last_connected_at: float | None = None
        self.client = self._make_client()

    # -- paho wiring -------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def acks_pending(self) -> int:
        return len(self._mid_to_msg)

    @property
    def awaiting_central(self) -> int:
        return len(self._awaiting)

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        v5 = self.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id or f"m2c-gw-{self.gateway_id}",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
        )
        client.max_inflight_messages_set(s.max_inflight)
        client.max_queued_messages_set(0)
        if s.username:
            client.username_pw_set(s.username, s.secret())
        if s.tls:
            context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
            if s.cert_file:
                context.load_cert_chain(str(s.cert_file), str(s.key_file) if s.key_file else None)
            client.tls_set_context(context)
        will = self._status_payload("offline")
        client.will_set(contract.topic(self.gateway_id, "status"), will, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _status_payload(self, state: Literal["online", "offline"]) -> bytes:
        status = contract.GatewayStatus(
            gateway_id=self.gateway_id, state=state, ts=datetime.now(UTC), software=self.software
        )
        return status.model_dump_json().encode()

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            if self.protocol == "5" and reason.value == UNSUPPORTED_PROTOCOL:
                self._v5_refused = True
            log.warning("mqtt connect refused", reason=str(reason), protocol=self.protocol)
            return
        self.connects += 1
        self.last_connected_at = time.time()
        log.info(
            "mqtt connected",
            host=self.settings.host,
            port=self.settings.port,
            protocol=self.protocol,
            session_present=bool(getattr(flags, "session_present", False)),
        )
        info = client.publish(
            contract.topic(self.gateway_id, "status"),
            self._status_payload("online"),
            qos=1,
            retain=True,
        )
        self._control_mids.add(info.mid)
        client.subscribe(
            [
                (contract.topic(self.gateway_id, "cmd"), 1),
                (contract.topic(self.gateway_id, "ack"), 1),
            ]
        )
        self._connected.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._connected.is_set():
            level = log.warning if reason.is_failure else log.info
            level("mqtt disconnected", reason=str(reason))
        self._connected.clear()

    def _on_publish(self, _c: Any, _u: Any, mid: int, _reason: Any, _p: Any) -> None:
        if mid in self._control_mids:
            self._control_mids.discard(mid)
            return
        self._acks.put(mid)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic.endswith("/ack"):
            self._confirms.put(bytes(message.payload))
            return
        if self.on_command is not None:
            self.on_command(bytes(message.payload))

    # -- network thread ----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._network, name="mqtt-uplink", daemon=True)
        self._thread.start()

    def _connect_once(self) -> None:
        s = self.settings
        props = None
        if self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = s.session_expiry_s
        self.client.connect(
            s.host,
            s.port,
            keepalive=s.keepalive_s,
            clean_start=False if props else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=props,
        )

    def _network(self) -> None:
        attempt = 0
        failing_since: float | None = None
        while not self._stopping.is_set():
            try:
                self._connect_once()
            except (OSError, ssl.SSLError, ValueError) as exc:
                if failing_since is None:
                    failing_since = time.time()
                    log.warning("mqtt broker unreachable", error=str(exc))
            else:
                while not self._stopping.is_set():
                    if self.client.loop(timeout=0.2) != mqtt.MQTT_ERR_SUCCESS:
                        break
                self._connected.clear()
                if (
                    self.connects
                    and self.last_connected_at
                    and (failing_since is None or self.last_connected_at > failing_since)
                ):
                    attempt, failing_since = 0, time.time()
            if self._stopping.is_set():
                break
            if self._v5_refused and self.settings.fallback_311:
                log.warning("broker refuses MQTT 5: falling back to 3.1.1")
                self._v5_refused = False
                self.protocol = "3.1.1"
                self._rebuild_client()
                continue
            self._stopping.wait(
                backoff(
                    attempt,
                    low=self.settings.reconnect_min_s,
                    high=self.settings.reconnect_max_s,
                    rng=self.rng,
                )
            )
            attempt += 1

    def _rebuild_client(self) -> None:
        """A new paho client forgets its in-flight messages: the outbox resends them."""
        old = self.client
        old.on_publish = None
        self.client = self._make_client()
        self._generation += 1

    def stop(self) -> None:
        """Say goodbye (retained offline) if connected, then end the network thread."""
        if self._connected.is_set():
            info = self.client.publish(
                contract.topic(self.gateway_id, "status"),
                self._status_payload("offline"),
                qos=1,
                retain=True,
            )
            deadline = time.monotonic() + 2
            while not info.is_published() and time.monotonic() < deadline:
                time.sleep(0.02)
            self.client.disconnect()
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)

    # -- draining the outbox ----------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, idle_s: float = 0.05) -> None:
        """Publish outbox messages while connected, at most ``max_inflight`` unacknowledged and
        at most ``rate_limit_msgs_s`` per second."""
        while not stop.is_set():
            self.drain_acks()
            self.drain_confirmations()
            wait = self.step()
            if wait:
                await asyncio.sleep(wait)
            else:
                await asyncio.sleep(0)
        self.drain_acks()
        self.drain_confirmations()

    def step(self) -> float:
        """Publish at most one message; returns how long to wait before the next step."""
        if self._seen_generation != self._generation:
            self._seen_generation = self._generation
            self._sent.clear()
            self._mid_to_msg.clear()
            self._awaiting.clear()
            self._early_acks.clear()
            while not self._acks.empty():
                self._acks.get_nowait()
            self._resend = self.outbox.pending_messages()  # formed before: same seq, first
        if not self._connected.is_set():
            return 0.05 * (1 + self.rng())
        if self.connects != self._seen_connects:  # a new connection: resend what central lacks
            self._seen_connects = self.connects
            now = self.clock()
            for waiting in self._awaiting.values():
                waiting.due = min(waiting.due, now)
        if len(self._mid_to_msg) >= self.settings.max_inflight:
            return 0.002
        wait = self.bucket.take()
        if wait:
            return wait
        message = self._unconfirmed_due() or self._next()
        if message is None:
            self.bucket.tokens += 1  # nothing to send: give the token back
            return 0.05
        self._publish(message)
        return 0.0

    def _unconfirmed_due(self) -> Message | None:
        now = self.clock()
        for key, waiting in list(self._awaiting.items()):
            if waiting.due > now:
                continue
            del self._awaiting[key]
            message = self.outbox.message(waiting.msg)
            if message is None:  # confirmed meanwhile
                continue
            self._attempts[waiting.msg] = waiting.attempts + 1
            self.resent_unconfirmed += 1
            return message
        return None

    def _next(self) -> Message | None:
        if len(self._mid_to_msg) + len(self._awaiting) >= self.settings.max_unconfirmed:
            return None
        while self._resend:
            resend = self._resend.pop(0)
            if resend.msg not in self._sent:
                return resend
        for channel in CHANNELS:
            batched = channel in ("readings", "payments")
            message = self.outbox.next_message(
                channel,
                max_items=self.max_batch if batched else 1,
                max_bytes=self.max_message_bytes,
            )
            if message is not None:
                return message
        return None

    def drain_acks(self) -> int:
        done: list[Message] = []
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            message = self._mid_to_msg.pop(mid, None)
            if message is None:
                self._early_acks.add(mid)  # PUBACK came before publish() returned its mid
            else:
                done.append(message)
        self._puback(done)
        return len(done)

    def _puback(self, done: list[Message]) -> None:
        """The broker has these: a confirmed channel waits for central, the others leave."""
        leave: list[int] = []
        for message in done:
            if message.channel in self.confirmed:
                if not self.outbox.in_flight(message.msg):
                    continue  # central's confirmation came before the broker's PUBACK
                attempts = self._attempts.get(message.msg, 0)
                wait = min(MAX_CONFIRM_WAIT_S, self.settings.confirm_timeout_s * 2**attempts)
                self._awaiting[(message.channel, message.seq)] = _Awaiting(
                    message.msg, self.clock() + wait, attempts
                )
            else:
                leave.append(message.msg)
        if leave:
            self.published += self.outbox.acknowledge(leave)
        self.messages_acked += len(done)

    def drain_confirmations(self) -> int:
        """Apply central's confirmations: the messages leave the outbox."""
        n = 0
        while True:
            try:
                raw = self._confirms.get_nowait()
            except queue.Empty:
                return n
            try:
                ack = contract.IngestAck.model_validate_json(raw)
            except ValidationError as exc:
                self.bad_confirmations += 1
                log.warning("malformed confirmation from central ignored", error=str(exc)[:200])
                continue
            if ack.gateway_id != self.gateway_id:
                self.bad_confirmations += 1
                log.warning("confirmation for another gateway ignored", gateway=ack.gateway_id)
                continue
            self.published += self.outbox.confirm(ack.channel, ack.seqs)
            for first, last in ack.seqs:
                for key in [
                    k for k in self._awaiting if k[0] == ack.channel and first <= k[1] <= last
                ]:
                    waiting = self._awaiting.pop(key)
                    self._attempts.pop(waiting.msg, None)
                    self.messages_confirmed += 1
            n += 1

    def payload(self, message: Message) -> bytes:
        """The wire form; batched channels are assembled from the stored JSON as is."""
        gw, seq = self.gateway_id, message.seq
        if message.channel == "readings":
            sent = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            return (
                f'{{"v":1,"gateway_id":"{gw}","seq":{seq},"sent_at":"{sent}","readings":['
                + ",".join(message.bodies)
                + "]}"
            ).encode()
        if message.channel == "payments":
            return (
                f'{{"v":1,"gateway_id":"{gw}","seq":{seq},"payments":['
                + ",".join(message.bodies)
                + "]}"
            ).encode()
        return message.bodies[0].encode()

    def _publish(self, message: Message) -> None:
        # paho queues a QoS 1 message even while disconnected and sends it on reconnect.
        info = self.client.publish(
            contract.topic(self.gateway_id, message.channel), self.payload(message), qos=1
        )
        self._sent.add(message.msg)
        if info.mid in self._early_acks:
            self._early_acks.discard(info.mid)
            self._puback([message])
        else:
            self._mid_to_msg[info.mid] = message
