"""One error model: every operation documents its 4xx answers as ``ErrorOut``, and the answers
the door itself gives (413, strict-JSON 422, validation 422, 404, 409, 422 of a rule) are
instances of it."""

from __future__ import annotations

import json

from httpx import Client

from central.api.errors import ERROR_STATUSES, ErrorOut
from central.app import create_app
from central.db.engine import make_engine

REF = "#/components/schemas/ErrorOut"


def test_every_operation_documents_every_4xx_as_the_error_model() -> None:
    engine = make_engine("sqlite://")
    try:
        spec = create_app(engine).openapi()
    finally:
        engine.dispose()
    operations = [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
    ]
    assert len(operations) >= 40
    for path, method, op in operations:
        for code in ERROR_STATUSES:
            content = op["responses"][str(code)]["content"]
            assert content["application/json"]["schema"] == {"$ref": REF}, (method, path, code)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    detail = spec["components"]["schemas"]["ErrorOut"]["properties"]["detail"]
    assert {"type": "string"} in detail["anyOf"]


def test_answers_of_every_kind_are_the_error_model(client: Client) -> None:
    answers = {
        404: client.get("/api/v1/customers/424242"),
        409: client.post("/api/v1/stations", json={"code": "Q1", "name": "again"}),
        413: client.post(
            "/api/v1/stations",
            content=b"[" + b"1," * 200_000 + b"1]",
            headers={"content-type": "application/json"},
        ),
        422: client.post(
            "/api/v1/stations", content="NaN", headers={"content-type": "application/json"}
        ),
    }
    rule = client.post(
        "/api/v1/customers",
        json={
            "utility_code": "ben-thanh",
            "account_no": "99",
            "name": "X",
            "tariff_code": "hcmc-water-residential",
        },
    )
    schema = client.post("/api/v1/stations", json={"code": ""})
    for status, r in answers.items():
        assert r.status_code == status, r.text[:200]
    for r in (*answers.values(), rule, schema):
        assert r.headers["content-type"] == "application/json"
        ErrorOut.model_validate(json.loads(r.content))
    assert ErrorOut.model_validate(rule.json()).field == "account_no"
    issues = ErrorOut.model_validate(schema.json()).detail
    assert isinstance(issues, list)
    assert {tuple(i.loc) for i in issues} == {("body", "code"), ("body", "name")}
