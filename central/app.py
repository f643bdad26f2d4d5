"""The central FastAPI application, built by :func:`create_app` (never at import time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, text

from central.api.limits import BodyLimits
from central.db.engine import make_engine, session_factory
from central.tariffs.catalog import DEFAULT_DIR, load_dir


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(
    engine: Engine | str,
    *,
    tariffs_dir: Path = DEFAULT_DIR,
    clock: Callable[[], datetime] = _now,
    limits: BodyLimits | None = None,
) -> FastAPI:
    """The app over ``engine`` (or a database URL). The schema must be migrated already."""
    from central.api import (
        billing,
        billing_lists,
        errors,
        gateways,
        identities,
        lists,
        readings,
        readings_manual,
        records,
        tariffs,
    )
    from central.api.headers import NoSniffMiddleware
    from central.api.limits import BodyLimitMiddleware
    from central.api.strict_json import StrictJsonMiddleware

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
    app.state.tariff_files = load_dir(tariffs_dir)
    errors.install(app)
    for module in (tariffs, records, readings_manual, billing, identities, lists, billing_lists):
        app.include_router(module.router, prefix="/api/v1")
    for module in (readings, gateways):  # these carry their /api/v1 prefix themselves
        app.include_router(module.router)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    return app
