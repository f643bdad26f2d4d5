"""Logging in over real HTTP with an injected clock: token expiry, refresh rotation and reuse,
logout, lockout (shared by every worker, the same for unknown names), disabled users, revoked
keys, password change, forged tokens."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
from sqlalchemy.orm import Session

from central.auth import Role, apikeys, users
from central.db.models.auth import ApiKeyRow, UserRow
from tests.support.auth import PASSWORD, add_user, api_key
from tests.support.central_app import central_server
from tests.support.fakeclock import FakeClock

TOKEN = "/api/v1/auth/token"


def _login(c: httpx.Client, login: str, password: str = PASSWORD) -> httpx.Response:
    return c.post(TOKEN, data={"username": login, "password": password})


def _me(c: httpx.Client, access: str) -> httpx.Response:
    return c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})


def test_tokens_expire_and_refresh_tokens_rotate(db_url: str) -> None:
    clock = FakeClock()
    with central_server(db_url, clock=clock.wall) as central, central.client(None) as c:
        add_user(central.engine, "thu", Role.BILLING_CLERK)
        r = _login(c, "thu")
        assert r.status_code == 200, r.text
        pair = r.json()
        assert (pair["token_type"], pair["expires_in"]) == ("bearer", 900)
        assert _me(c, pair["access_token"]).json() == {
            "kind": "user",
            "name": "thu",
            "roles": ["billing_clerk"],
            "accounts": [],
        }
        clock.now += 14 * 60
        assert _me(c, pair["access_token"]).status_code == 200
        clock.now += 61
        expired = _me(c, pair["access_token"])
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]
        assert expired.headers["WWW-Authenticate"].startswith("Bearer")

        second = c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert second.status_code == 200
        assert second.json()["refresh_token"] != pair["refresh_token"]
        assert _me(c, second.json()["access_token"]).status_code == 200
        # the spent token presented again: refused, and its successor is revoked with it
        again = c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert again.status_code == 401
        assert "already used" in again.json()["detail"]
        after = c.post(
            "/api/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}
        )
        assert after.status_code == 401

        # logout ends the session of the refresh token given
        pair = _login(c, "thu").json()
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        r = c.post(
            "/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}, headers=bearer
        )
        assert r.status_code == 204
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert r.status_code == 401
        # refresh tokens expire too
        pair = _login(c, "thu").json()
        clock.now += 14 * 24 * 3600 + 1
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert (r.status_code, r.json()["detail"]) == (401, "refresh token expired")


def test_lockout_is_kept_in_the_database_and_hides_who_exists(db_url: str) -> None:
    clock = FakeClock()
    with (
        central_server(db_url, clock=clock.wall) as one,
        central_server(db_url, clock=clock.wall) as two,
    ):
        add_user(one.engine, "thu", Role.CASHIER)
        with one.client(None) as a, two.client(None) as b:
            answers = []
            for i in range(5):  # the failures alternate between two API processes
                r = _login(a if i % 2 else b, "thu", "wrong password!")
                answers.append((r.status_code, r.json()))
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
            unknown = [_login(a, "nobody", "wrong password!") for _ in range(5)]
            assert {(r.status_code, r.text) for r in unknown} == {
                (401, '{"detail":"incorrect login or password"}')
            }
            assert set(map(str, answers)) == {str((401, unknown[0].json()))}
            # locked: the right password is refused too, on both processes, with Retry-After
            for c in (a, b):
                r = _login(c, "thu")
                assert r.status_code == 429
                assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
            r = _login(a, "nobody", "any password at all")
            assert r.status_code == 429
            assert r.json() == _login(b, "thu").json()
            with Session(one.engine) as s:
                row = users.by_login(s, "thu")
                assert row is not None
                assert row.locked_until is not None
            clock.now += 15 * 60 + 1
            assert _login(b, "thu").status_code == 200
            with Session(one.engine) as s:
                row = users.by_login(s, "thu")
                assert row is not None
                assert (row.failed_logins, row.locked_until) == (0, None)


def test_disabled_users_and_revoked_keys_are_refused(db_url: str) -> None:
    clock = FakeClock()
    with central_server(db_url, clock=clock.wall) as central, central.client(None) as c:
        add_user(central.engine, "thu", Role.OPERATOR)
        access = _login(c, "thu").json()["access_token"]
        assert _me(c, access).status_code == 200
        with Session(central.engine) as s:
            users.set_disabled(s, "thu", True, clock=clock.wall)
            s.commit()
        assert _me(c, access).status_code == 401
        assert _login(c, "thu").status_code == 401
        with Session(central.engine) as s:
            users.set_disabled(s, "thu", False, clock=clock.wall)
            s.commit()
        assert _login(c, "thu").status_code == 200

        key = api_key(central.engine, Role.AUDITOR, name="reports")
        r = c.get("/api/v1/gateways", headers={"X-API-Key": key})
        assert r.status_code == 200
        with Session(central.engine) as s:
            row = s.query(ApiKeyRow).filter_by(name="reports").one()
            assert row.last_used_at == clock.wall()
            assert row.key_hash not in key
            assert row.prefix in key
            apikeys.revoke(s, "reports", clock=clock.wall)
            s.commit()
        r = c.get("/api/v1/gateways", headers={"X-API-Key": key})
        assert (r.status_code, r.json()["detail"]) == (401, "invalid or revoked API key")
        assert c.get("/api/v1/gateways", headers={"X-API-Key": key[:-1] + "x"}).status_code == 401
        # both kinds of credential at once are refused, even when each is good
        good = api_key(central.engine, Role.AUDITOR)
        r = c.get(
            "/api/v1/gateways",
            headers={
                "X-API-Key": good,
                "Authorization": f"Bearer {_login(c, 'thu').json()['access_token']}",
            },
        )
        assert r.status_code == 401


def test_password_change_ends_the_old_tokens(db_url: str) -> None:
    clock = FakeClock()
    with central_server(db_url, clock=clock.wall) as central, central.client(None) as c:
        add_user(central.engine, "thu", Role.CASHIER)
        pair = _login(c, "thu").json()
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        new = "a much longer new passphrase"
        r = c.post(
            "/api/v1/auth/password",
            json={"current_password": "not it", "new_password": new},
            headers=bearer,
        )
        assert r.status_code == 403
        r = c.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "short"},
            headers=bearer,
        )
        assert r.status_code == 422
        clock.now += 1
        r = c.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": new},
            headers=bearer,
        )
        assert r.status_code == 204
        assert _me(c, pair["access_token"]).status_code == 401
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert r.status_code == 401
        assert _login(c, "thu").status_code == 401
        assert _login(c, "thu", new).status_code == 200
        with Session(central.engine) as s:
            row = s.query(UserRow).filter_by(login="thu").one()
            assert row.password_hash.startswith("$argon2id$")
            assert new not in row.password_hash


def test_forged_tokens_are_refused(db_url: str) -> None:
    clock = FakeClock()
    with central_server(db_url, clock=clock.wall) as central, central.client(None) as c:
        user_id = add_user(central.engine, "root", Role.ADMIN)
        now = int(clock.wall().timestamp())
        claims = {
            "iss": "meter2cash-central",
            "sub": str(user_id),
            "iat": now,
            "exp": now + 600,
            "typ": "access",
        }
        forged = [
            jwt.encode(claims, "x" * 40, algorithm="HS256"),  # another secret
            jwt.encode(claims, None, algorithm="none"),  # no signature
            "not.a.token",
            "x" * 5000,
        ]
        for token in forged:
            r = _me(c, token)
            assert r.status_code == 401, token
        # and an expired, otherwise good-looking token from the past
        old = _login(c, "root").json()["access_token"]
        clock.now += timedelta(hours=1).total_seconds()
        assert _me(c, old).status_code == 401


def test_the_audit_trail_names_the_principal_not_the_header(db_url: str) -> None:
    with central_server(db_url) as central, central.client() as admin:
        utility = {"code": "u1", "name": "U1", "account_pattern": r"\d{6}", "account_hint": ""}
        assert admin.post("/api/v1/utilities", json=utility).status_code == 201
        customer = {
            "utility_code": "u1",
            "account_no": "100001",
            "name": "A",
            "tariff_code": "evn-residential",
        }
        cid = admin.post("/api/v1/customers", json=customer).json()["id"]
        add_user(central.engine, "clerk", Role.BILLING_CLERK)
        token = _login(admin, "clerk")  # the form needs no credentials; the key is ignored
        assert token.status_code == 200
        with httpx.Client(
            base_url=central.base,
            headers={
                "Authorization": f"Bearer {token.json()['access_token']}",
                "X-Operator": "mallory",
            },
        ) as clerk:
            r = clerk.patch(f"/api/v1/customers/{cid}", json={"persons": 3, "reason": "moved"})
            assert r.status_code == 200, r.text
        key = api_key(central.engine, Role.OPERATOR, name="crm-sync")
        r = httpx.patch(
            f"{central.base}/api/v1/customers/{cid}",
            json={"persons": 4, "reason": "sync"},
            headers={"X-API-Key": key, "X-Operator": "mallory"},
        )
        assert r.status_code == 200
        history = admin.get(f"/api/v1/customers/{cid}/history").json()
        assert [(h["new_value"], h["changed_by"]) for h in history if h["field"] == "persons"] == [
            ("3", "clerk"),
            ("4", "key:crm-sync"),
        ]
