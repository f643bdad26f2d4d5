"""``m2c central gateway enroll|list|revoke``: the printed credentials connect to the shipped
broker, the printed central key is the one commands are signed with, the receipt key is
registered; revocation shuts the gateway out after the broker reloads."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from central.db.engine import make_engine
from central.db.models.identity import EnrolledGateway
from central.identity.keys import load
from contract.command_signature import public_key_text
from gateway.cashier.keys import create_signing_key
from m2c.cli import main
from tests.support.api import Api
from tests.support.mqtt import wait_for
from tests.support.secure_broker import Client, SecureBroker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[SecureBroker]:
    b = SecureBroker(tmp_path / "mosquitto")
    b.start()
    try:
        yield b
    finally:
        b.kill()


def test_enroll_list_revoke(
    tmp_path: Path, broker: SecureBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "central.db"
    cfg = tmp_path / "central.toml"
    cfg.write_text(
        f'database_url = "sqlite:///{db}"\n[identity]\n'
        f'command_key = "{tmp_path / "command-key.pem"}"\n'
        f'password_file = "{broker.gateways_passwd}"\n'
    )
    receipt = create_signing_key(tmp_path / "gw-7-receipt.pem")  # what the cashier creates

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["central", "gateway", *args, "-c", str(cfg)])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = run("enroll", "gw-7", "--receipt-key", str(tmp_path / "gw-7-receipt.pem"))
    assert code == 0
    snippet = tomllib.loads("\n".join(line for line in out.splitlines() if line[:1] != "#"))
    assert snippet["mqtt"]["username"] == "gw-7"
    central_key = load(tmp_path / "command-key.pem").public_key()
    assert snippet["downlink"]["central_keys"] == [public_key_text(central_key)]
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        (row,) = conn.execute(select(EnrolledGateway.__table__)).all()
    assert row.receipt_key == public_key_text(receipt.public_key())
    assert row.revoked_at is None
    (listed,) = Api(engine).get("/api/v1/gateway-identities").json()
    engine.dispose()
    assert listed["gateway_id"] == "gw-7"
    assert listed["receipt_key"] == public_key_text(receipt.public_key())
    assert listed["revoked_at"] is None

    broker.reload()

    def connects(password: str) -> bool:
        c = Client(broker.port, broker.pki.ca, client_id="c", username="gw-7", password=password)
        try:
            return c.wait_connected()
        finally:
            c.close()

    wait_for(lambda: connects(snippet["mqtt"]["password"]), 15, "the enrolled gateway accepted")
    code, out, _ = run("list")
    assert code == 0
    assert out.startswith("gw-7\tenrolled\tcredentials\t")

    # Refusals: central's ids are reserved, a key must be a key.
    code, _, err = run("enroll", "m2c-central-x", "--receipt-key", public_key_text(central_key))
    assert (code, "reserved" in err) == (2, True)
    code, _, err = run("enroll", "gw-8", "--receipt-key", "not-a-key")
    assert (code, "Ed25519" in err) == (2, True)

    code, out, _ = run("revoke", "gw-7")
    assert code == 0
    broker.reload()
    wait_for(lambda: not connects(snippet["mqtt"]["password"]), 15, "the revoked gateway refused")
    code, out, _ = run("list")
    assert "gw-7\trevoked" in out
    assert "NO credentials" in out
    assert run("revoke", "gw-7")[0] == 1  # nothing left to revoke
