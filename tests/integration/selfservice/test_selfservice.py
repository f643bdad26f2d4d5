"""A customer registers with the customer code and a code sent by SMS, binds up to five
accounts with a default, reads bills, payments, schedule and consumption, and never sees an
account that is not bound to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from central.db.engine import writer_sessions
from central.db.models.records import UtilityRow
from central.notify.notifier import Notifier
from central.notify.senders import SmsSender
from central.records.customers import BEN_THANH
from central.settings import PaymentsSettings, SmsSettings, VnpaySettings
from simulators.chat.platform import PlatformSim
from tests.support.central_app import Central, central_server
from tests.support.channels import add_bill, add_customer

NOW = datetime(2025, 7, 20, 3, 0, tzinfo=UTC)
PASSWORD = "Nước-sạch-2025-an-toàn"
ACCOUNTS = [f"0123456789{i}" for i in range(7)]


@dataclass
class Rig:
    central: Central
    client: httpx.Client
    platform: PlatformSim
    notifier: Notifier
    ids: dict[str, int]

    def code_for(self, phone: str) -> str:
        """The code in the latest SMS to ``phone``, after the outbox is delivered."""
        self.notifier.run_once()
        texts = [s.text for s in self.platform.conversation.lines(phone) if s.direction == "out"]
        found = re.search(r"\b(\d{6})\b", texts[-1])
        assert found, texts
        return found.group(1)


@pytest.fixture
def rig(db_url: str) -> Iterator[Rig]:
    with central_server(db_url, now=NOW) as central, PlatformSim() as platform:
        ids = {}
        with Session(central.engine) as s:
            s.add(UtilityRow(**BEN_THANH.model_dump()))
            s.flush()
            for i, account in enumerate(ACCOUNTS):
                row = add_customer(s, account, name=f"Khách {i}", phone=f"090000000{i}")
                ids[account] = row.id
            for month in range(14):
                start = date(2024, 5, 12) + timedelta(days=30 * month)
                state = "draft" if month == 13 else "issued" if month == 12 else "paid"
                add_bill(
                    s,
                    s.get(type(row), ids[ACCOUNTS[0]]),
                    start,
                    100_000 + 1000 * month,
                    state=state,
                    issued_at=datetime.combine(
                        start + timedelta(days=32), datetime.min.time(), UTC
                    ),
                )
            s.commit()
        sms = SmsSender(SmsSettings(api_url=platform.url, api_key=platform.sms_key))
        notifier = Notifier(writer_sessions(central.engine), {"sms": sms}, clock=lambda: NOW)
        with httpx.Client(base_url=central.base, timeout=30) as client:
            yield Rig(central, client, platform, notifier, ids)


def register(rig: Rig, account: str, login: str) -> dict[str, str]:
    started = rig.client.post(
        "/api/v1/self/register/start", json={"utility": "ben-thanh", "account_no": account}
    )
    assert started.status_code == 200, started.text
    phone = f"090000000{ACCOUNTS.index(account)}"
    assert started.json()["sent_to"] == phone[:2] + "******" + phone[-2:]
    code = rig.code_for(phone)
    token = started.json()["token"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    body = {"token": token, "login": login, "password": PASSWORD}
    assert (
        rig.client.post("/api/v1/self/register/finish", json={**body, "code": wrong}).status_code
        == 422
    )
    weak = rig.client.post(
        "/api/v1/self/register/finish", json={**body, "code": code, "password": "123456"}
    )
    assert weak.status_code == 422  # the code stays good for a second try
    done = rig.client.post("/api/v1/self/register/finish", json={**body, "code": code})
    assert done.status_code == 201, done.text
    again = rig.client.post("/api/v1/self/register/finish", json={**body, "code": code})
    assert again.status_code == 422  # used once
    token_pair = rig.client.post(
        "/api/v1/auth/token", data={"username": login, "password": PASSWORD}
    )
    assert token_pair.status_code == 200, token_pair.text
    return {"Authorization": f"Bearer {token_pair.json()['access_token']}"}


def bind(rig: Rig, auth: dict[str, str], account: str) -> httpx.Response:
    started = rig.client.post(
        "/api/v1/me/accounts/bind/start",
        headers=auth,
        json={"utility": "ben-thanh", "account_no": account},
    )
    if started.status_code != 200:
        return started
    code = rig.code_for(f"090000000{ACCOUNTS.index(account)}")
    return rig.client.post(
        "/api/v1/me/accounts/bind/finish",
        headers=auth,
        json={"token": started.json()["token"], "code": code},
    )


def test_register_bind_five_with_a_default_and_switch(rig: Rig) -> None:
    auth = register(rig, ACCOUNTS[0], "khach.an")
    mine = rig.client.get("/api/v1/me/accounts", headers=auth).json()
    assert [(a["account_no"], a["default"]) for a in mine] == [(ACCOUNTS[0], True)]
    for account in ACCOUNTS[1:5]:
        assert bind(rig, auth, account).status_code == 200
    sixth = bind(rig, auth, ACCOUNTS[5])
    assert sixth.status_code == 422
    assert "at most 5" in sixth.text
    assert bind(rig, auth, ACCOUNTS[1]).status_code == 422  # bound already
    third = rig.ids[ACCOUNTS[2]]
    assert rig.client.put(f"/api/v1/me/accounts/{third}/default", headers=auth).status_code == 204
    mine = rig.client.get("/api/v1/me/accounts", headers=auth).json()
    assert [a["account_no"] for a in mine if a["default"]] == [ACCOUNTS[2]]
    assert rig.client.delete(f"/api/v1/me/accounts/{third}", headers=auth).status_code == 204
    mine = rig.client.get("/api/v1/me/accounts", headers=auth).json()
    assert [a["account_no"] for a in mine if a["default"]] == [ACCOUNTS[0]]  # the oldest
    assert bind(rig, auth, ACCOUNTS[5]).status_code == 200  # room again
    other = register(rig, ACCOUNTS[0], "khach.binh")  # one account, many logins
    assert len(rig.client.get("/api/v1/me/accounts", headers=other).json()) == 1


def test_what_a_customer_reads_and_never_reads(rig: Rig) -> None:
    auth = register(rig, ACCOUNTS[0], "khach.an")
    cid, stranger = rig.ids[ACCOUNTS[0]], rig.ids[ACCOUNTS[6]]
    profile = rig.client.get(f"/api/v1/me/accounts/{cid}/profile", headers=auth).json()
    assert (profile["account_no"], profile["route"], profile["reading_day"]) == (
        ACCOUNTS[0],
        "Q1-01",
        12,
    )
    bills = rig.client.get(f"/api/v1/me/accounts/{cid}/bills", headers=auth).json()
    assert len(bills) == 12
    assert all(b["state"] != "draft" for b in bills)
    assert bills[0]["total"] == 112_000
    latest = rig.client.get(f"/api/v1/me/accounts/{cid}/bills/latest", headers=auth).json()
    assert latest["id"] == bills[0]["id"]
    month = bills[3]["period_end"][:7]
    one = rig.client.get(
        f"/api/v1/me/accounts/{cid}/bills", params={"month": month}, headers=auth
    ).json()
    assert [b["id"] for b in one] == [bills[3]["id"]]
    paid = rig.client.get(f"/api/v1/me/accounts/{cid}/payments", headers=auth).json()
    assert len(paid) == 5
    ranged = rig.client.get(
        f"/api/v1/me/accounts/{cid}/payments",
        params={"from": "2024-08", "to": "2024-10"},
        headers=auth,
    ).json()
    assert ranged
    assert all("2024-08" <= p["day"][:7] <= "2024-10" for p in ranged)
    schedule = rig.client.get(f"/api/v1/me/accounts/{cid}/schedule", headers=auth).json()
    assert len(schedule["last_readings"]) == 3
    data = rig.client.get(f"/api/v1/me/accounts/{cid}/consumption", headers=auth).json()
    assert len(data) == 12
    assert data[0]["period_end"] < data[-1]["period_end"]
    chart = rig.client.get(f"/api/v1/me/accounts/{cid}/consumption.svg", headers=auth)
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert chart.text.count("<rect") == 13  # the background and 12 bars
    for path in ("profile", "bills", "payments", "schedule", "consumption"):
        assert (
            rig.client.get(f"/api/v1/me/accounts/{stranger}/{path}", headers=auth).status_code
            == 404
        )
    assert rig.client.get(f"/api/v1/customers/{stranger}", headers=auth).status_code in (403, 404)
    assert rig.client.get("/api/v1/customers", headers=auth).status_code == 403


def test_a_forgotten_password_is_reset_with_a_code(rig: Rig) -> None:
    register(rig, ACCOUNTS[0], "khach.an")
    started = rig.client.post("/api/v1/self/password-reset/start", json={"login": "khach.an"})
    unknown = rig.client.post("/api/v1/self/password-reset/start", json={"login": "nobody"})
    assert started.status_code == unknown.status_code == 202
    code = rig.code_for("0900000000")
    new = "Mật-khẩu-mới-2025-dài"
    done = rig.client.post(
        "/api/v1/self/password-reset/finish",
        json={"token": started.json()["token"], "code": code, "new_password": new},
    )
    assert done.status_code == 204, done.text
    old = rig.client.post("/api/v1/auth/token", data={"username": "khach.an", "password": PASSWORD})
    assert old.status_code == 401
    fresh = rig.client.post("/api/v1/auth/token", data={"username": "khach.an", "password": new})
    assert fresh.status_code == 200


def test_a_customer_pays_its_open_balance_by_vnpay_and_nothing_when_it_owes_nothing(
    rig: Rig,
) -> None:
    rig.central.app.state.payments = PaymentsSettings(
        vnpay=VnpaySettings(tmn_code="M2CTEST1", hash_secret=SecretStr("k" * 32))
    )
    auth = register(rig, ACCOUNTS[0], "khach.an")
    assert bind(rig, auth, ACCOUNTS[1]).status_code == 200  # an account without bills
    cid, empty, stranger = (rig.ids[a] for a in (ACCOUNTS[0], ACCOUNTS[1], ACCOUNTS[6]))
    pay = f"/api/v1/me/accounts/{cid}/pay"
    assert rig.client.post(pay, headers=auth).status_code == 422  # no Idempotency-Key
    first = rig.client.post(pay, headers={**auth, "Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    assert first.json()["amount"] == 112_000  # the one open bill
    assert "vnp_Amount=11200000" in first.json()["payment_url"]
    again = rig.client.post(pay, headers={**auth, "Idempotency-Key": "k-1"})
    assert again.json()["txn_ref"] == first.json()["txn_ref"]
    nothing = rig.client.post(
        f"/api/v1/me/accounts/{empty}/pay", headers={**auth, "Idempotency-Key": "k-2"}
    )
    assert nothing.status_code == 422
    assert "owes nothing" in nothing.text
    other = rig.client.post(
        f"/api/v1/me/accounts/{stranger}/pay", headers={**auth, "Idempotency-Key": "k-3"}
    )
    assert other.status_code == 404
