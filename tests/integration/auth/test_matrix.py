"""The role × route matrix over real HTTP, on SQLite and PostgreSQL: each role gets 403
exactly where the policy does not admit it, and never 401 or 403 where it does; nobody gets in
without credentials (401 with WWW-Authenticate)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.orm import Session

from central.auth import Role, users
from central.auth.matrix import rules
from tests.support.auth import LONG_AGO, add_user, bearer, key_headers
from tests.support.central_app import central_server

UTILITY = {"code": "u1", "name": "U1", "account_pattern": r"\d{6}", "account_hint": "6 digits"}
CUSTOMER = {
    "utility_code": "u1",
    "account_no": "100001",
    "name": "Nguyễn Văn A",
    "tariff_code": "evn-residential",
}

# public routes authenticated by the caller's own signature (not by central's credentials)
SIGNED_BY_PROVIDER = {"/api/v1/payments/bank/webhook"}


def _url(path: str, own_customer: int) -> str:
    values = {"customer_id": str(own_customer), "scheduled_on": "2025-01-01"}

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in values:
            return values[name]
        return "999999" if name.endswith("_id") and name not in ("meter_id", "gateway_id") else "x"

    return re.sub(r"\{(\w+)\}", fill, path)


def test_each_role_gets_exactly_what_the_policy_admits(db_url: str) -> None:
    with central_server(db_url) as central, central.client(Role.ADMIN) as admin:
        assert admin.post("/api/v1/utilities", json=UTILITY).status_code == 201
        r = admin.post("/api/v1/customers", json=CUSTOMER)
        assert r.status_code == 201, r.text
        own = r.json()["id"]
        add_user(central.engine, "khach", Role.CUSTOMER)
        with Session(central.engine) as s:
            users.bind_account(s, "khach", "u1", "100001", clock=lambda: LONG_AGO)
            s.commit()
        creds: dict[Role | None, dict[str, str]] = {
            role: key_headers(central.engine, role) for role in Role if role is not Role.CUSTOMER
        }
        creds[Role.CUSTOMER] = bearer(central.base, "khach")
        creds[None] = {}
        clients = {
            role: httpx.Client(base_url=central.base, headers=headers, timeout=30)
            for role, headers in creds.items()
        }
        tried = 0
        for rule in rules(central.app):
            url = _url(rule.path, own)
            for role, c in clients.items():
                r = c.request(rule.method, url)
                tried += 1
                where = f"{role} {rule.method} {url}: {r.status_code} {r.text[:200]}"
                if rule.public:
                    assert r.status_code != 403, where
                    # a provider's callback refuses a request without its own signature
                    assert r.status_code != 401 or rule.path in SIGNED_BY_PROVIDER, where
                elif role is None:
                    assert r.status_code == 401, where
                    assert r.headers["WWW-Authenticate"].startswith("Bearer"), where
                elif rule.admits(role):
                    assert r.status_code not in (401, 403), where
                else:
                    assert r.status_code == 403, where
        for c in clients.values():
            c.close()
        assert tried == 8 * len(rules(central.app))


def test_a_customer_sees_only_bound_accounts(db_url: str) -> None:
    with central_server(db_url) as central, central.client(Role.ADMIN) as admin:
        assert admin.post("/api/v1/utilities", json=UTILITY).status_code == 201
        mine = admin.post("/api/v1/customers", json=CUSTOMER).json()["id"]
        other = admin.post(
            "/api/v1/customers", json={**CUSTOMER, "account_no": "100002", "name": "B"}
        ).json()["id"]
        add_user(central.engine, "khach", Role.CUSTOMER)
        with Session(central.engine) as s:
            users.bind_account(s, "khach", "u1", "100001", clock=lambda: LONG_AGO, default=True)
            s.commit()
        with httpx.Client(base_url=central.base, headers=bearer(central.base, "khach")) as c:
            assert c.get("/api/v1/auth/me").json()["accounts"] == [mine]
            assert c.get(f"/api/v1/customers/{mine}").json()["account_no"] == "100001"
            assert c.get(f"/api/v1/customers/{mine}/bills").status_code == 200
            assert c.get(f"/api/v1/customers/{mine}/consumption").status_code == 200
            for path in ("", "/bills", "/consumption", "/meters"):
                r = c.get(f"/api/v1/customers/{other}{path}")
                assert r.status_code == 403, (path, r.text)
            assert c.get("/api/v1/customers", params={"q": "%"}).status_code == 403
        # a customer key without a login has no accounts at all
        with central.client(Role.CUSTOMER) as c:
            assert c.get(f"/api/v1/customers/{mine}").status_code == 403
        # staff see every account
        with central.client(Role.CASHIER) as c:
            assert c.get(f"/api/v1/customers/{other}/bills").status_code == 200
