"""The central FastAPI application, built by :func:`create_app` (never at import time)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from central.api.limits import BodyLimits
from central.auth import openapi as auth_openapi
from central.auth import public
from central.auth.service import Authenticator
from central.db.engine import make_engine, session_factory
from central.ingest.health import IngestCollector, Watched, document
from central.settings import AuthSettings, ChannelsSettings, PaymentsSettings
from central.tariffs.catalog import DEFAULT_DIR, load_dir


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(
    engine: Engine | str,
    *,
    tariffs_dir: Path = DEFAULT_DIR,
    clock: Callable[[], datetime] = _now,
    limits: BodyLimits | None = None,
    ingest: Watched | None = None,
    channels: ChannelsSettings | None = None,
    auth_settings: AuthSettings | None = None,
    auth_secret: bytes | None = None,
    receipt_keys: Mapping[str, Sequence[str]] | None = None,
    payments: PaymentsSettings | None = None,
) -> FastAPI:
    """The app over ``engine`` (or a database URL). The schema must be migrated already.

    ``ingest``: the worker running in this process, watched by ``/healthz`` and ``/metrics``.
    ``auth_secret`` signs access tokens (``central.auth.secret.load`` reads the configured
    one); without it the app makes a random one, and its tokens die with it.
    ``receipt_keys``: the gateways' receipt public keys (settings ``[receipts] keys``).
    ``payments``: the payment channels' settings (VNPay, bank, wallet).
    """
    from central.api import (
        auth,
        billing,
        billing_lists,
        errors,
        gateways,
        identities,
        lists,
        lookup,
        me,
        payments_bank,
        payments_prepaid,
        payments_vnpay,
        payments_wallet,
        readings,
        readings_manual,
        receipts_verify,
        records,
        service,
        tariffs,
    )
    from central.api import (
        channels as channels_api,
    )
    from central.api import (
        payments as payments_api,
    )
    from central.api.headers import NoSniffMiddleware
    from central.api.limits import BodyLimitMiddleware
    from central.api.strict_json import StrictJsonMiddleware
    from central.receipts.verify import parse_keys

    if isinstance(engine, str):
        engine = make_engine(engine)
    app = FastAPI(
        title="meter2cash central",
        version="1",
        description="Readings, gateways, tariffs, customer records and billing for a utility.",
        responses=errors.ERROR_RESPONSES,  # every 4xx answer has one documented shape
    )
    # Outermost last: nosniff on every answer, then the body limit, then strict JSON.
    app.add_middleware(StrictJsonMiddleware)
    app.add_middleware(BodyLimitMiddleware, limits=limits or BodyLimits())
    app.add_middleware(NoSniffMiddleware)
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.clock = clock
    app.state.payments = payments or PaymentsSettings()
    app.state.tariff_files = load_dir(tariffs_dir)
    app.state.channels = channels or ChannelsSettings()
    app.state.auth = Authenticator(
        app.state.sessions,
        clock,
        settings=auth_settings or AuthSettings(),
        secret=auth_secret if auth_secret is not None else secrets.token_bytes(32),
    )
    app.state.receipt_keys = parse_keys(receipt_keys or {})
    errors.install(app)
    for module in (
        auth,
        tariffs,
        records,
        readings_manual,
        billing,
        identities,
        lists,
        billing_lists,
        payments_vnpay,
        payments_bank,
        payments_prepaid,
        payments_wallet,
        payments_api,
    ):
        app.include_router(module.router, prefix="/api/v1")
    # these carry their paths themselves (the receipt page lives at /r/, outside /api/v1)
    for module in (readings, gateways, receipts_verify, channels_api, lookup, service, me):
        app.include_router(module.router)

    auth_openapi.document(app)
    errors.document(app)

    app.state.ingest = ingest  # a process may attach its worker later
    registry = CollectorRegistry(auto_describe=True)
    registry.register(IngestCollector(lambda: app.state.ingest))

    @app.get("/healthz", tags=["operations"], dependencies=[public()])
    def healthz() -> JSONResponse:
        """200 while the database answers and ingest (when this process runs it) is alive and
        can store; 503 otherwise, with what failed. A broker away is "degraded", still 200."""
        body: dict[str, Any] = {"status": "ok", "database": engine.dialect.name}
        healthy = True
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except DBAPIError as exc:
            healthy = False
            body["database_error"] = str(exc.orig).splitlines()[0][:300]
        watched: Watched | None = app.state.ingest
        if watched is not None:
            part = document(watched.health())
            body["ingest"] = part
            healthy = healthy and part["status"] != "failed"
            if part["status"] == "degraded" and healthy:
                body["status"] = "degraded"
        if not healthy:
            body["status"] = "failed"
        return JSONResponse(body, status_code=200 if healthy else 503)

    @app.get(
        "/metrics",
        tags=["operations"],
        dependencies=[public()],
        response_class=PlainTextResponse,
    )
    def metrics() -> Response:
        """Prometheus text format: ingest's liveness, lag, last stored time and counts."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
