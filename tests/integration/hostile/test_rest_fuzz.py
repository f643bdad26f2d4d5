"""The REST fuzzer: schemathesis over every operation of ``create_app()``, on a seeded database
over real HTTP (uvicorn), on SQLite and PostgreSQL. Bounded and reproducible: derandomized
Hypothesis, a few positive and negative cases per operation. Every answer must be no server
error and match the OpenAPI schema (status code, content type, headers, body); a request the
schema forbids must be refused.

Callers: ``CALLERS`` runs the fuzzer as anonymous and as each role, with an API key of that
role; admin reaches every operation's code and gets the most cases.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from central.app import create_app
from central.auth import Role
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.ingest.commands import CommandPublisher
from central.settings import BrokerSettings
from tests.support.auth import key_headers
from tests.support.billing_seed import seed
from tests.support.broker import Mosquitto
from tests.support.central_app import FIXED_NOW, serve
from tests.support.mqtt import wait_for
from tests.support.signing import CENTRAL_KEY

# A caller's headers (its credentials) are sent with every case. Admin reaches every
# operation's code, so it gets the most cases; anonymous meets 401s before any code runs, and
# each other role mostly meets its 403s and the routes it may use, so a few cases show it.
CALLERS: dict[str, tuple[Role | None, int]] = {
    "anonymous": (None, 4),
    **{role.value: (role, 10 if role is Role.ADMIN else 2) for role in Role},
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # first failure per operation

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def _seed(client: httpx.Client, db_url: str) -> None:
    """Customers 1..30 with meters and readings, a billing run with its bills, a contract with
    a file, a manual reading with a photo: ids the fuzzer's small integers find."""
    engine = make_engine(db_url)
    try:
        seed(engine, 30)
    finally:
        engine.dispose()
    r = client.post(
        "/api/v1/billing/runs", json={"period_start": "2025-06-12", "period_end": "2025-07-12"}
    )
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    wait_for(
        lambda: client.get(f"/api/v1/billing/runs/{run_id}").json()["status"] == "done",
        60,
        "the seed billing run",
    )
    r = client.post("/api/v1/customers/1/contracts", json={"number": "HĐ-1"})
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/contracts/{r.json()['id']}/files",
        params={"filename": "Hợp đồng.pdf", "content_type": "application/pdf"},
        content=b"%PDF-1.7\n%%EOF\n",
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    meter = client.get("/api/v1/customers/1/meters").json()[0]["meter_id"]
    r = client.post(
        "/api/v1/readings/manual",
        json={
            "meter_id": meter,
            "value": 1,
            "ts": "2025-07-04T08:00:00+07:00",
            "photo_base64": base64.b64encode(JPEG).decode(),
        },
    )
    assert r.status_code == 201, r.text


@pytest.fixture
def served(db_url: str, mosquitto: Mosquitto) -> Iterator[tuple[str, httpx.Client, Any, Engine]]:
    engine = make_engine(db_url)
    upgrade(engine)
    app = create_app(engine, clock=lambda: FIXED_NOW)
    publisher = CommandPublisher(
        BrokerSettings(port=mosquitto.port, client_id="fuzz"), signing_key=CENTRAL_KEY
    )
    publisher.start()
    app.state.commands = publisher
    try:
        admin = key_headers(engine, Role.ADMIN, name="seed")
        with (
            serve(app) as base,
            httpx.Client(base_url=base, timeout=30, headers=admin) as client,
        ):
            wait_for(publisher.connected.is_set, 10, "the command publisher connected")
            _seed(client, db_url)
            yield base, client, schemathesis.openapi.from_dict(app.openapi()), engine
    finally:
        publisher.stop()
        engine.dispose()


def _fuzz(schema: Any, base: str, headers: dict[str, str], examples: int) -> Tally:
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            checks = CHECKS + ([negative_data_rejection] if mode.is_negative else [])
            _fuzz_operation(operation, mode, checks, base, headers, tally, examples)
    return tally


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    checks: list[Any],
    base: str,
    headers: dict[str, str],
    tally: Tally,
    examples: int,
) -> None:
    name = f"{operation.method.upper()} {operation.path} ({mode.value})"

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        tally.cases += 1
        try:
            response = case.call(base_url=base, headers=headers)
        except requests.RequestException as exc:  # a dropped connection is a server error
            tally.statuses[599] += 1
            tally.failures.setdefault(name, f"no answer: {exc!r}")
            return
        tally.statuses[response.status_code] += 1
        # a body over the route's limit is refused (413) before it is read against the schema:
        # a rejection, which negative_data_rejection does not count among its statuses
        unread = [negative_data_rejection] if response.status_code == 413 else None
        try:
            case.validate_response(response, checks=checks, excluded_checks=unread, headers=headers)
        except (Failure, FailureGroup) as exc:
            tally.failures.setdefault(name, f"{exc}\n{case.as_curl_command(headers)}"[:3000])

    try:
        run()
    except Unsatisfiable:  # no negative case exists (an operation without parameters)
        assert mode.is_negative, name


@pytest.mark.mosquitto
@pytest.mark.slow
@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_every_operation_survives_the_fuzzer(
    served: tuple[str, httpx.Client, Any, Engine],
    caller: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, _client, schema, engine = served
    role, examples = CALLERS[caller]
    headers = key_headers(engine, role, name=f"fuzz-{caller}") if role else {}
    operations = sum(1 for _ in schema.get_all_operations())
    tally = _fuzz(schema, base, headers, examples)
    with capsys.disabled():
        print(
            f"\nfuzzer as {caller}: {operations} operations, {tally.cases} cases, "
            f"{tally.server_errors} server errors, statuses {dict(sorted(tally.statuses.items()))}"
        )
    assert operations >= 40
    assert tally.cases >= operations * examples
    assert not tally.failures, "\n\n".join(f"{k}: {v}" for k, v in tally.failures.items())
