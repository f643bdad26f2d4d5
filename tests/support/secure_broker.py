"""Mosquitto run with the shipped configuration (config/mosquitto/): the same conf and ACL
files, only its paths and ports moved into a test folder; a private CA for TLS; central's user
in its own password file; gateways enrolled through central's real enrollment code."""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from central.identity import passwords
from central.settings import BrokerSettings
from gateway.settings import MqttSettings
from m2c.mosquitto import Mosquitto, free_port
from tests.support.tls import Pki, make_pki

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "mosquitto"
CENTRAL_USER = "m2c-central"


def render(conf: str, folder: Path, gateway_port: int, central_port: int) -> str:
    """The shipped conf with its paths and ports moved; every other line as shipped."""
    out = (
        conf.replace("/etc/mosquitto/m2c/", f"{folder}/")
        .replace("/var/lib/mosquitto/", f"{folder}/")
        .replace("log_dest syslog", f"log_dest file {folder}/mosquitto.log")
        .replace("listener 8883\n", f"listener {gateway_port} 127.0.0.1\n")
        .replace("listener 8884\n", f"listener {central_port} 127.0.0.1\n")
    )
    if os.geteuid() == 0:
        out += "user root\n"
    return out


class SecureBroker(Mosquitto):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder, port=free_port())
        self.central_port = free_port()
        self.pki: Pki = make_pki(folder / "pki")
        for name in ("ca.pem", "server.pem", "server.key"):
            shutil.copy(self.pki.ca.parent / name, folder / name)
        for name in ("gateways.acl", "central.acl"):
            shutil.copy(SHIPPED / name, folder / name)
        self.gateways_passwd = folder / "gateways.passwd"
        self.gateways_passwd.touch()
        self.central_password = passwords.new_password()
        passwords.set_user(folder / "central.passwd", CENTRAL_USER, self.central_password)
        self.central_secret = folder / "central.secret"  # central reads its password from here
        self.central_secret.write_text(self.central_password + "\n")
        shipped = (SHIPPED / "mosquitto.conf").read_text()
        self.conf.write_text(render(shipped, folder, self.port, self.central_port))

    def reload(self) -> None:
        """What `systemctl reload mosquitto` does: re-read password and ACL files."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def log_text(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def gateway_mqtt(self, username: str, password: str, **kw: Any) -> MqttSettings:
        return MqttSettings(
            port=self.port,
            username=username,
            password=password,
            tls=True,
            ca_file=self.pki.ca,
            **kw,
        )

    def central_broker(self, client_id: str = "m2c-central-ingest") -> BrokerSettings:
        return BrokerSettings(
            port=self.central_port,
            username=CENTRAL_USER,
            password_file=self.central_secret,
            tls=True,
            ca_file=self.pki.ca,
            client_id=client_id,
        )


class Client:
    """A paho client over TLS for forgery attempts: what it receives, how its connect ended,
    and the reason codes of its publishes and subscriptions."""

    def __init__(
        self,
        port: int,
        ca: Path,
        *,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        tls: bool = True,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.connack = threading.Event()
        self.refused: str | None = None
        self.disconnected = threading.Event()
        self.suback: dict[int, list[int]] = {}
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set_context(ssl.create_default_context(cafile=str(ca)))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = lambda *_: self.disconnected.set()
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            self.client.disconnect()  # no automatic retries of a refused connection
        self.connack.set()

    def _on_message(self, _c: Any, _u: Any, m: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((m.topic, bytes(m.payload)))

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, codes: list[Any], _p: Any) -> None:
        self.suback[mid] = [c.value for c in codes]
        self.subscribed.set()

    def wait_connected(self, timeout: float = 10) -> bool:
        """True when the broker accepted the connection, False when it refused it."""
        assert self.connack.wait(timeout), "no CONNACK from the broker"
        return self.refused is None

    def subscribe(self, *topics: str, timeout: float = 10) -> list[int]:
        self.subscribed.clear()
        _, mid = self.client.subscribe([(t, 1) for t in topics])
        assert self.subscribed.wait(timeout), "no SUBACK"
        return self.suback[mid]

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Publish QoS 1; returns the PUBACK's reason code (0x87: not authorised)."""
        codes: list[int] = []
        done = threading.Event()
        previous: Callable[..., None] | None = self.client.on_publish

        def on_publish(_c: Any, _u: Any, _mid: int, reason: Any, _p: Any) -> None:
            codes.append(reason.value)
            done.set()

        self.client.on_publish = on_publish
        try:
            self.client.publish(topic, payload, qos=1, retain=retain)
            assert done.wait(10), f"no PUBACK for {topic}"
        finally:
            self.client.on_publish = previous
        return codes[0]

    def received(self, topic: str | None = None) -> list[bytes]:
        with self.lock:
            return [p for t, p in self.messages if topic is None or t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
