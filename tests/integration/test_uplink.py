"""The uplink against a private Mosquitto and a real central ingest: a reading leaves the outbox
only on central's confirmation (the PUBACK only paces), unconfirmed messages are sent again,
birth and retained status, TLS with client certificates, fallback to MQTT 3.1.1, rate limit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from contract import mqtt as contract
from gateway.outbox import Outbox
from gateway.settings import MqttSettings
from gateway.uplink import TokenBucket, Uplink, backoff
from tests.support.broker import Mosquitto, free_port
from tests.support.central_ingest import central_ingest
from tests.support.mqtt import Collector, wait_for
from tests.support.old_broker import V311OnlyProxy
from tests.support.readings import number, reading
from tests.support.tls import make_pki
from tests.support.uplink import running


def _received(collector: Collector) -> list[int]:
    out: list[int] = []
    for payload in collector.on("/readings"):
        out += [number(r) for r in contract.ReadingsBatch.model_validate_json(payload).readings]
    return out


def test_drains_in_order_and_deletes_only_when_central_confirms(
    tmp_path: Path, new_mosquitto: Callable[..., Mosquitto]
) -> None:
    broker = new_mosquitto(tmp_path / "mq", port=free_port())
    box = Outbox(tmp_path / "o.db", gateway_id="gw-u")
    box.put([reading(k) for k in range(3000)])
    settings = MqttSettings(port=broker.port, reconnect_min_s=0.1, reconnect_max_s=0.5)
    uplink = Uplink(settings, "gw-u", box, max_batch=200)
    with running(uplink):
        # No broker yet: nothing may leave the outbox, whatever time passes.
        asyncio.run(asyncio.sleep(1.0))
        assert box.stats().depth == 3000
        assert uplink.published == 0
        broker.start()
        collector = Collector(broker.port, "m2c/v1/gw/gw-u/#")
        # The broker acknowledged every message, central has confirmed none: all stay.
        wait_for(lambda: uplink.awaiting_central == 15, 20, "every message PUBACKed")
        assert box.stats().depth == 3000
        assert uplink.published == 0
        with central_ingest(broker.port, tmp_path / "central.db") as central:
            # Central subscribed after the messages went by: the broker kept nothing for it;
            # the outbox sends them again (here at the timeout of the first attempt, 30 s, or a
            # reconnect; the test makes it a reconnect).
            uplink.client.disconnect()
            wait_for(lambda: box.stats().depth == 0, 30, "the outbox drained")
            wait_for(lambda: central.readings() == 3000, 10, "all readings at central")
    got = _received(collector)
    assert sorted(set(got)) == list(range(3000))
    seqs = [contract.ReadingsBatch.model_validate_json(p).seq for p in collector.on("/readings")]
    assert sorted(set(seqs)) == list(range(15))  # 3000 / 200, numbered without a hole
    acks = [contract.IngestAck.model_validate_json(p) for p in collector.on("/ack")]
    assert {s for a in acks for lo, hi in a.seqs for s in range(lo, hi + 1)} == set(range(15))
    assert uplink.published == 3000
    assert uplink.messages_confirmed == 15
    status = [contract.GatewayStatus.model_validate_json(p) for p in collector.on("/status")]
    assert status[-1].state == "offline"  # the goodbye on stop
    collector.close()
    late = Collector(broker.port, "m2c/v1/gw/gw-u/status", client_id="late")
    wait_for(lambda: late.on("/status"), 5, "the retained status")
    assert contract.GatewayStatus.model_validate_json(late.on("/status")[0]).state == "offline"
    late.close()
    broker.kill()


def test_unconfirmed_messages_are_sent_again_after_the_timeout(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    box = Outbox(tmp_path / "o.db", gateway_id="gw-t")
    box.put([reading(k) for k in range(100)])
    settings = MqttSettings(port=mosquitto.port, confirm_timeout_s=0.3, max_unconfirmed=4)
    uplink = Uplink(settings, "gw-t", box, max_batch=10)
    with running(uplink):
        # Nobody confirms: the window holds 4 messages, each sent again as its timeout passes.
        wait_for(lambda: uplink.resent_unconfirmed >= 8, 20, "messages sent again")
        assert box.stats().inflight == 4  # the window: no fifth message formed
        assert box.stats().depth == 100
        with central_ingest(mosquitto.port, tmp_path / "central.db") as central:
            wait_for(lambda: box.stats().depth == 0, 30, "the outbox drained")
            wait_for(lambda: central.readings() == 100, 10, "all readings at central")
            assert central.worker.totals.readings_new == 100  # each stored once


def test_confirmations_that_are_not_ours_are_ignored(tmp_path: Path, mosquitto: Mosquitto) -> None:
    box = Outbox(tmp_path / "o.db", gateway_id="gw-c")
    box.put([reading(k) for k in range(10)])
    uplink = Uplink(MqttSettings(port=mosquitto.port), "gw-c", box, max_batch=10)
    forger = Collector(mosquitto.port, "none", client_id="forger")
    with running(uplink):
        wait_for(lambda: uplink.awaiting_central == 1, 10, "the message PUBACKed")
        topic = contract.topic("gw-c", "ack")
        other = contract.IngestAck(gateway_id="gw-other", channel="readings", seqs=((0, 0),))
        forger.publish(topic, other.model_dump_json().encode())
        forger.publish(topic, b'{"v":1,"gateway_id":"gw-c","channel":"readings","seqs":[[0]]}')
        forger.publish(topic, b"not json")
        wait_for(lambda: uplink.bad_confirmations == 3, 10, "three refused confirmations")
        assert box.stats().depth == 10
        mine = contract.IngestAck(gateway_id="gw-c", channel="readings", seqs=((0, 0),))
        forger.publish(topic, mine.model_dump_json().encode())
        wait_for(lambda: box.stats().depth == 0, 10, "the confirmed message gone")
    forger.close()


def test_tls_with_client_certificate(
    tmp_path: Path, new_mosquitto: Callable[..., Mosquitto]
) -> None:
    pki = make_pki(tmp_path / "pki")
    broker = new_mosquitto(
        tmp_path / "mq",
        listener_conf=(
            f"cafile {pki.ca}",
            f"certfile {pki.server_cert}",
            f"keyfile {pki.server_key}",
            "require_certificate true",
            "use_identity_as_username true",
            "allow_anonymous false",
        ),
    )
    plain = free_port()  # a second, plain listener for the test's own subscriber
    broker.conf.write_text(
        broker.conf.read_text() + f"listener {plain} 127.0.0.1\nallow_anonymous true\n"
    )
    broker.start()
    box = Outbox(tmp_path / "o.db", gateway_id="gw-tls")
    box.put([reading(k) for k in range(50)])
    collector = Collector(plain, "m2c/v1/gw/gw-tls/readings")
    settings = MqttSettings(
        port=broker.port,
        tls=True,
        ca_file=pki.ca,
        cert_file=pki.client_cert,
        key_file=pki.client_key,
    )
    uplink = Uplink(settings, "gw-tls", box)
    with central_ingest(plain, tmp_path / "central.db"), running(uplink):
        wait_for(lambda: box.stats().depth == 0, 15, "the outbox drained over TLS")
    assert sorted(_received(collector)) == list(range(50))
    # Without a client certificate the broker refuses: nothing leaves.
    box.put([reading(100)])
    anonymous = Uplink(
        MqttSettings(port=broker.port, tls=True, ca_file=pki.ca, reconnect_max_s=0.5),
        "gw-tls",
        box,
    )
    with running(anonymous):
        asyncio.run(asyncio.sleep(1.5))
        assert box.stats().depth == 1
        assert not anonymous.connected
    collector.close()
    broker.kill()


def test_falls_back_to_mqtt_311_when_v5_is_refused(tmp_path: Path, mosquitto: Mosquitto) -> None:
    proxy = V311OnlyProxy(mosquitto.port)
    box = Outbox(tmp_path / "o.db", gateway_id="gw-old")
    box.put([reading(k) for k in range(20)])
    collector = Collector(mosquitto.port, "m2c/v1/gw/gw-old/readings")
    uplink = Uplink(MqttSettings(port=proxy.port, reconnect_min_s=0.1), "gw-old", box)
    with central_ingest(mosquitto.port, tmp_path / "central.db"), running(uplink):
        wait_for(lambda: box.stats().depth == 0, 15, "the outbox drained over 3.1.1")
    assert uplink.protocol == "3.1.1"
    assert proxy.refused_v5 >= 1
    assert proxy.relayed >= 1
    assert sorted(_received(collector)) == list(range(20))
    collector.close()
    proxy.close()


def test_rate_limit_bounds_messages_per_second(tmp_path: Path, mosquitto: Mosquitto) -> None:
    box = Outbox(tmp_path / "o.db", gateway_id="gw-rl")
    box.put([reading(k) for k in range(40)])
    uplink = Uplink(
        MqttSettings(port=mosquitto.port, rate_limit_msgs_s=10), "gw-rl", box, max_batch=1
    )
    with running(uplink):
        wait_for(lambda: uplink.connected, 5, "connected")
        asyncio.run(asyncio.sleep(1.0))
        sent = uplink.messages_acked
    assert 8 <= sent <= 22  # 10/s plus the initial burst of 10


def test_token_bucket_and_backoff_are_deterministic_with_injected_clock() -> None:
    now = [0.0]
    bucket = TokenBucket(5, burst=2, clock=lambda: now[0])
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert abs(bucket.take() - 0.2) < 1e-9
    now[0] = 0.2
    assert bucket.take() == 0.0
    assert [backoff(a, low=1, high=30, rng=lambda: 1.0) for a in range(7)] == [
        1,
        2,
        4,
        8,
        16,
        30,
        30,
    ]
    assert backoff(5, low=1, high=30, rng=lambda: 0.0) == 1
