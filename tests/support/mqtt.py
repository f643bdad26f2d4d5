"""A plain paho subscriber that collects what arrives, for assertions.

Waits are bounded by ``WAIT_S`` (long: a loaded machine is slow, and a condition that holds
returns at once); nothing here sleeps for a guessed time.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

WAIT_S = 60.0  # the bound on a wait for something that must happen


class Collector:
    def __init__(self, port: int, *topics: str, client_id: str = "test-collector") -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()  # every subscription granted by the broker
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.topics = topics
        pending: set[int] = set()

        def on_connect(c: mqtt.Client, *_: Any) -> None:
            with self.lock:
                for t in self.topics:
                    pending.add(c.subscribe(t, qos=1)[1])
                if not pending:
                    self.ready.set()

        def on_subscribe(_c: Any, _u: Any, mid: int, *_: Any) -> None:
            with self.lock:
                pending.discard(mid)
                if not pending:
                    self.ready.set()

        def on_message(_c: Any, _u: Any, m: mqtt.MQTTMessage) -> None:
            with self.lock:
                self.messages.append((m.topic, bytes(m.payload), bool(m.retain)))

        self.client.on_connect = on_connect
        self.client.on_message = on_message
        self.client.on_subscribe = on_subscribe
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self.ready.wait(WAIT_S):
            self.close()
            raise AssertionError(f"collector: no SUBACK for {topics} within {WAIT_S} s")

    def on(self, suffix: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t.endswith(suffix)]

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(WAIT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    """Until ``predicate()`` is true. ``timeout`` says how long it should take on an idle
    machine; the bound is never below ``WAIT_S``, so a loaded machine is not a failure."""
    timeout = max(timeout, WAIT_S)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
