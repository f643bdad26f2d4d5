"""Prepaid recharge cards over HTTP on SQLite and PostgreSQL: a batch with PINs shown once
and stored hashed, redeemed to an account once, wrong PINs answered 403 then 429 until the
wait is over, the fifth wrong PIN locks the card."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.models.payments import RechargeCardRow
from tests.support.payments_seed import NOW, add_bill, add_customer
from tests.support.vnpay_env import VnpayEnv, vnpay_env


@pytest.fixture
def env(db_url: str) -> Iterator[VnpayEnv]:
    with vnpay_env(db_url, now=NOW) as e:
        yield e


def test_batch_redeem_once_and_lockout(env: VnpayEnv) -> None:
    cid = add_customer(env.engine, 1)
    bill = add_bill(env.engine, cid, 150_000, month=6)
    r = env.client.post(
        "/api/v1/payments/prepaid/batches",
        json={"count": 3, "face_value": 100_000},
        headers={"Idempotency-Key": "b1"},
    )
    assert r.status_code == 201, r.text
    cards = r.json()["cards"]
    with Session(env.engine) as s:
        stored = s.scalars(select(RechargeCardRow)).all()
        assert {c.number for c in stored} == {c["number"] for c in cards}
        assert all(c["pin"] not in (x.pin_hash + x.pin_salt) for c in cards for x in stored)
    good, bad = cards[0], cards[1]

    def redeem(card: dict[str, str], pin: str, key: str) -> tuple[int, dict[str, object]]:
        r = env.client.post(
            "/api/v1/payments/prepaid/redeem",
            headers={"Idempotency-Key": key},
            json={"number": card["number"], "pin": pin, "customer_id": cid},
        )
        return r.status_code, r.json()

    code, body = redeem(good, good["pin"], "r1")
    assert code == 201, body
    assert (body["channel"], body["amount"]) == ("prepaid", 100_000)
    assert redeem(good, good["pin"], "r1") == (code, body)  # replayed
    code, again = redeem(good, good["pin"], "r2")
    assert code == 409
    assert "already redeemed" in str(again["detail"])
    assert env.client.get(f"/api/v1/bills/{bill}").json()["state"] == "partially_paid"

    code, body = redeem(bad, "000000000000", "w1")
    assert (code, body["tries_left"]) == (403, 4)
    code, body = redeem(bad, bad["pin"], "w2")  # even the right PIN must wait
    assert code == 429
    for n in range(2, 6):  # the clock moves past each wait
        with Session(env.engine) as s:
            card = s.get(RechargeCardRow, bad["number"])
            assert card is not None
            assert card.retry_after is not None
            card.retry_after = NOW - timedelta(seconds=1)
            s.commit()
        code, body = redeem(bad, "111111111111", f"w{n + 1}")
        assert code == 403
    code, body = redeem(bad, bad["pin"], "w9")
    assert code == 409
    assert "locked" in str(body["detail"])
    status = env.client.get(f"/api/v1/payments/prepaid/cards/{bad['number']}").json()
    assert (status["status"], status["failures"]) == ("locked", 5)
