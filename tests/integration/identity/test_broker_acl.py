"""Forgeries against a Mosquitto run with the shipped configuration and ACL: each is refused.

Absence is proven by order, not by waiting: after the forged message, an allowed one is sent
on the same path; when the allowed one has arrived, the forged one would have arrived before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from central.identity.enrollment import EnrollmentError, check_gateway_id, revoke
from contract import mqtt as contract
from tests.integration.identity.conftest import Site, enroll_new
from tests.support.mqtt import wait_for
from tests.support.secure_broker import CENTRAL_USER, Client

NOT_AUTHORISED = 0x87

Connect = Callable[..., Client]


@pytest.fixture
def connect(site: Site) -> Iterator[Connect]:
    made: list[Client] = []

    def make(
        who: str, *, client_id: str | None = None, central: bool = False, password: str = ""
    ) -> Client:
        b = site.broker
        creds = {"gw-a": site.a.password, "gw-b": site.b.password}
        if who == "central":
            user, pw = CENTRAL_USER, b.central_password
        elif who == "anonymous":
            user, pw = None, None
        else:
            user, pw = who, password or creds[who]
        port = b.central_port if central or who == "central" else b.port
        c = Client(
            port,
            b.pki.ca,
            client_id=client_id or f"t-{who}-{len(made)}",
            username=user,
            password=pw,
        )
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def test_anonymous_and_wrong_passwords_are_refused_on_both_listeners(connect: Connect) -> None:
    assert not connect("anonymous").wait_connected()
    assert not connect("anonymous", central=True).wait_connected()
    assert not connect("gw-a", password="guessed-password").wait_connected()
    # A gateway's valid credentials are worthless on central's listener.
    assert not connect("gw-a", central=True).wait_connected()
    assert connect("gw-a").wait_connected()  # and the enrolled password is accepted


def test_a_gateway_cannot_publish_as_another(site: Site, connect: Connect) -> None:
    central = connect("central", client_id="m2c-central-acl")
    assert central.wait_connected()
    central.subscribe(*(contract.topic_filter(c) for c in contract.UPLINK_CHANNELS))
    a = connect("gw-a")
    assert a.wait_connected()
    now = datetime.now(UTC)
    forged_status = contract.GatewayStatus(gateway_id="gw-b", state="offline", ts=now)
    for channel in contract.UPLINK_CHANNELS:  # readings, status, events, payments, replies
        code = a.publish(
            contract.topic("gw-b", channel), forged_status.model_dump_json().encode(), retain=True
        )
        assert code == NOT_AUTHORISED, channel
    own = contract.topic("gw-a", "events")
    assert a.publish(own, b"own") == 0
    wait_for(lambda: central.received(own), 10, "gateway A's own event at central")
    assert [t for t, _ in central.messages if "/gw-b/" in t] == []
    # Nothing retained either: a new subscriber to B's status finds no forged status.
    late = connect("central", client_id="m2c-central-late")
    assert late.wait_connected()
    late.subscribe(contract.topic("gw-b", "status"), own)
    assert a.publish(own, b"marker") == 0
    wait_for(lambda: late.received(own), 10, "the marker at the late subscriber")
    assert late.received(contract.topic("gw-b", "status")) == []


def test_a_gateway_reads_only_its_own_commands_and_cannot_write_any(connect: Connect) -> None:
    a, b = connect("gw-a"), connect("gw-b")
    assert a.wait_connected()
    assert b.wait_connected()
    cmd_a, cmd_b = contract.topic("gw-a", "cmd"), contract.topic("gw-b", "cmd")
    a.subscribe(cmd_b, contract.topic_filter("cmd"), "#", "$SYS/#")
    b.subscribe(cmd_b)
    # Only central writes commands: neither another gateway nor the gateway itself.
    assert a.publish(cmd_b, b"forged by A") == NOT_AUTHORISED
    assert b.publish(cmd_b, b"self-made") == NOT_AUTHORISED
    central = connect("central", client_id="m2c-central-cmd")
    assert central.wait_connected()
    assert central.publish(cmd_b, b"for B") == 0
    assert central.publish(cmd_a, b"for A") == 0
    wait_for(lambda: a.received(cmd_a), 10, "A's own command")
    wait_for(lambda: b.received(cmd_b), 10, "B's command")
    assert b.received(cmd_b) == [b"for B"]
    assert a.received(cmd_b) == []  # A's wildcards brought it nothing of B's
    assert all(t == cmd_a for t, _ in a.messages)


def test_no_client_id_takeover(site: Site, connect: Connect) -> None:
    central = connect("central", client_id="m2c-central-ingest")
    b = connect("gw-b", client_id="gw-b")
    assert central.wait_connected()
    assert b.wait_connected()
    b.subscribe(contract.topic("gw-b", "cmd"))
    # A claims B's and central's client ids: the broker makes its client id its username.
    for stolen in ("gw-b", "m2c-central-ingest"):
        thief = connect("gw-a", client_id=stolen)
        assert thief.wait_connected()
    assert central.publish(contract.topic("gw-b", "cmd"), b"still yours") == 0
    wait_for(lambda: b.received(), 10, "B still connected and served")
    assert not b.disconnected.is_set()
    assert not central.disconnected.is_set()
    # No gateway can be enrolled under central's client ids.
    for reserved in ("m2c-central-ingest", "m2c-ingest-2", "central-1"):
        with pytest.raises(EnrollmentError, match="reserved"):
            check_gateway_id(reserved)


def test_enrolled_password_lines_are_accepted_and_revocation_takes_effect(
    site: Site, connect: Connect
) -> None:
    c = enroll_new(site.engine, site.broker, "gw-new")
    site.broker.reload()

    def accepted() -> bool:
        return connect("gw-new", password=c.password).wait_connected()

    wait_for(accepted, 15, "the new gateway accepted after the reload")
    assert revoke(
        site.engine, "gw-new", password_file=site.broker.gateways_passwd, now=datetime.now(UTC)
    )
    site.broker.reload()
    wait_for(lambda: not accepted(), 15, "the revoked gateway refused after the reload")


def test_an_oversize_packet_closes_the_connection(site: Site, connect: Connect) -> None:
    central = connect("central", client_id="m2c-central-size")
    assert central.wait_connected()
    central.subscribe(contract.topic_filter("readings"))
    a = connect("gw-a")
    assert a.wait_connected()
    a.client.publish(contract.topic("gw-a", "readings"), b"x" * (2 * 1024 * 1024), qos=1)
    assert a.disconnected.wait(10)  # max_packet_size 1 MiB in the shipped configuration
    assert "oversize packet" in site.broker.log_text()
    assert central.received() == []


def test_central_reads_through_a_shared_subscription(connect: Connect) -> None:
    worker = connect("central", client_id="m2c-central-w1")
    assert worker.wait_connected()
    granted = worker.subscribe(contract.topic_filter("readings", share_group="ingest"))
    assert granted == [1]
    a = connect("gw-a")
    assert a.wait_connected()
    topic = contract.topic("gw-a", "readings")
    assert a.publish(topic, b"batch") == 0
    wait_for(lambda: worker.received(topic), 10, "the batch at the shared subscriber")
    # Central's user may not publish uplink data in a gateway's name either.
    assert worker.publish(topic, b"made up") == NOT_AUTHORISED
