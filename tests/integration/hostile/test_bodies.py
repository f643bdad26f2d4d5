"""Bodies: size limits (announced and chunked), strict JSON (no NaN, Infinity, overflowing or
absurdly long numbers, no parser-exhausting nesting), and short answers to huge bad bodies."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from httpx import Client

from central.api.limits import BodyLimits

LIMIT = BodyLimits().default


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b" " * n


def test_a_10_mb_station_name_is_refused_with_413(
    client: Client, still_works: Callable[[], None]
) -> None:
    body = json.dumps({"code": "BIG", "name": "x" * 10_000_000})
    r = client.post("/api/v1/stations", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text[:200]
    assert r.json()["detail"] == f"request body over the {LIMIT} byte limit of this route"
    still_works()


def test_a_chunked_body_without_length_is_cut_at_the_limit(
    client: Client, still_works: Callable[[], None]
) -> None:
    r = client.post(
        "/api/v1/stations",
        content=_chunks(4 * LIMIT),  # a generator: sent chunked, no Content-Length
        headers={"content-type": "application/json"},
    )
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413, r.text[:200]
    still_works()


def test_the_excel_import_has_a_larger_limit_than_json(client: Client) -> None:
    size = 2 * LIMIT  # over the JSON limit, under the import's: reaches the route
    r = client.post(
        "/api/v1/customers/import",
        params={"utility": "ben-thanh"},
        content=b"PK\x03\x04" + b"\0" * size,
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == 422, r.text[:200]
    assert "not an Excel workbook" in r.json()["detail"]
    over = BodyLimits().for_path("/api/v1/customers/import") + 1
    r = client.post(
        "/api/v1/customers/import",
        params={"utility": "ben-thanh"},
        content=b"\0" * over,
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("NaN", "NaN is not a JSON number"),
        ("Infinity", "Infinity is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ("1e400", "out of range"),
        ("9" * 5000, "out of range"),
    ],
)
def test_non_finite_numbers_are_refused_at_the_parse(
    client: Client, still_works: Callable[[], None], number: str, reason: str
) -> None:
    for path, template in (
        (
            "/api/v1/readings/manual",
            '{"meter_id": "W-0001", "ts": "2025-07-01T08:00:00+07:00", "value": %s}',
        ),
        (
            "/api/v1/tariffs/evn-residential/quote",
            '{"consumption": %s, "period_start": "2025-06-01", "period_end": "2025-07-01"}',
        ),
        ("/api/v1/gateways/gw-1/commands", '{"kind": "read_now", "args": {"x": %s}}'),
    ):
        r = client.post(
            path, content=template % number, headers={"content-type": "application/json"}
        )
        assert r.status_code == 422, (path, r.text)
        [issue] = r.json()["detail"]
        assert issue["loc"] == ["body"], issue
        assert reason in issue["msg"], issue
    still_works()


def test_nesting_that_would_exhaust_the_parser_is_a_422(
    client: Client, still_works: Callable[[], None]
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    r = client.post("/api/v1/stations", content=deep, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text[:300]
    assert "nested too deeply" in r.json()["detail"][0]["msg"]
    still_works()


def test_a_large_bad_body_gets_a_short_answer(
    client: Client, still_works: Callable[[], None]
) -> None:
    # 200 KB of wrong types under the limit: the answer names where, echoes little.
    body = {"code": ["x"] * 20_000, "name": {"k": "v" * 100_000}, "extra": "e" * 50_000}
    raw = json.dumps(body)
    assert len(raw) < LIMIT
    r = client.post("/api/v1/stations", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert len(r.content) < 2_000, len(r.content)
    locs = {tuple(i["loc"]) for i in r.json()["detail"]}
    assert {("body", "code"), ("body", "name"), ("body", "extra")} <= locs
    still_works()


def test_many_bad_fields_are_listed_up_to_a_bound(client: Client) -> None:
    body = {f"f{i}": i for i in range(5000)}
    r = client.post("/api/v1/stations", json=body)
    assert r.status_code == 422
    assert len(r.json()["detail"]) == 20
    assert len(r.content) < 5_000


def test_no_route_reads_more_than_the_limit_of_a_streamed_body(db_url: str) -> None:
    """At the ASGI level: a body streamed in 64 KiB pieces without a length is read only to
    one piece past the limit, then answered with a 413."""
    import asyncio

    from central.app import create_app
    from central.db.engine import make_engine
    from central.db.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    app = create_app(engine)
    piece = 64 * 1024
    pulled = 0
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        nonlocal pulled
        pulled += piece
        return {"type": "http.request", "body": b" " * piece, "more_body": pulled < 100 * piece}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/stations",
        "raw_path": b"/api/v1/stations",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"central")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    try:
        asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    finally:
        engine.dispose()
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 413
    assert pulled <= LIMIT + piece
