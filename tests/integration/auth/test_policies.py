"""Every route declares a policy, the documented table is the served one, and the auditor
only reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import APIRouter

from central.app import create_app
from central.auth import Role, allow
from central.auth.matrix import BEGIN, END, markdown, rules

DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"


def test_every_route_of_the_app_declares_a_policy() -> None:
    app = create_app("sqlite://")
    table = rules(app)  # raises LookupError naming a route without a policy
    paths = {r.path for r in table}
    assert "/healthz" in paths
    assert "/api/v1/bills/{bill_id}/pay" in paths
    assert len(table) >= 60


def test_a_route_without_a_policy_is_found() -> None:
    app = create_app("sqlite://")
    router = APIRouter()

    @router.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    @router.get("/api/v1/declared", dependencies=[allow(Role.OPERATOR)])
    def declared() -> dict[str, str]:
        return {}

    app.include_router(router)
    with pytest.raises(LookupError, match="/api/v1/forgotten"):
        rules(app)


def test_docs_carry_the_served_table() -> None:
    text = DOC.read_text("utf-8")
    documented = text[text.index(BEGIN) : text.index(END) + len(END)] + "\n"
    assert documented == markdown(create_app("sqlite://")), (
        "docs/security.md is out of date: `m2c central policy --write docs/security.md`"
    )


def test_the_auditor_reads_everything_and_changes_nothing() -> None:
    for rule in rules(create_app("sqlite://")):
        if rule.public or rule.path.startswith(("/api/v1/auth/", "/api/v1/me/")):
            continue  # public routes; one's own session, password and bound accounts
        assert rule.admits(Role.AUDITOR) == (rule.method == "GET"), rule


def test_public_routes_are_the_ones_open_by_nature() -> None:
    public = {(r.method, r.path) for r in rules(create_app("sqlite://")) if r.public}
    assert public == {
        # operations
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        # logging in
        ("POST", "/api/v1/auth/token"),
        ("POST", "/api/v1/auth/refresh"),
        # published prices
        ("GET", "/api/v1/tariffs"),
        ("GET", "/api/v1/tariffs/{code}"),
        ("POST", "/api/v1/tariffs/{code}/quote"),
        # a receipt's QR opens its verification page
        ("GET", "/r/{code:path}"),
        ("GET", "/api/v1/receipts/verify"),
        # payment providers, authenticated by their own signatures; return pages settle nothing
        ("GET", "/api/v1/payments/vnpay/ipn"),
        ("GET", "/api/v1/payments/vnpay/return"),
        ("POST", "/api/v1/payments/bank/webhook"),
        ("POST", "/api/v1/payments/wallet/notify"),
        ("GET", "/api/v1/payments/wallet/return"),
        # chat platforms, authenticated by their own signatures
        ("POST", "/api/v1/channels/zalo"),
        ("GET", "/api/v1/channels/wechat"),
        ("POST", "/api/v1/channels/wechat"),
        # payment providers' callbacks, authenticated by their own signatures, and the pages
        # they send the payer back to (showing an outcome, settling nothing)
        ("GET", "/api/v1/payments/vnpay/ipn"),
        ("GET", "/api/v1/payments/vnpay/return"),
        ("POST", "/api/v1/payments/wallet/notify"),
        ("GET", "/api/v1/payments/wallet/return"),
        ("POST", "/api/v1/payments/bank/webhook"),
        # anyone, rate-limited: the amount due, applications, faults, outages
        ("GET", "/api/v1/lookup"),
        ("POST", "/api/v1/applications"),
        ("GET", "/api/v1/applications/track"),
        ("POST", "/api/v1/fault-reports"),
        ("GET", "/api/v1/outages"),
        # self-service registration and password reset, by a code to the phone on record
        ("POST", "/api/v1/self/register/start"),
        ("POST", "/api/v1/self/register/finish"),
        ("POST", "/api/v1/self/password-reset/start"),
        ("POST", "/api/v1/self/password-reset/finish"),
    }


def test_the_openapi_document_names_the_credentials_and_the_refusals() -> None:
    app = create_app("sqlite://")
    doc = app.openapi()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    for rule in rules(app):
        path = re.sub(r":\w+}", "}", rule.path)  # "/r/{code:path}" is "/r/{code}" there
        operation = doc["paths"][path][rule.method.lower()]
        if rule.public:
            assert "security" not in operation, rule
            continue
        assert operation["security"] == [{"bearer": []}, {"apiKey": []}], rule
        assert {"401", "403"} <= set(operation["responses"]), rule
