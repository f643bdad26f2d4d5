"""The central FastAPI application, built by :func:`create_app` (never at import time)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, text

from central.db.engine import make_engine, session_factory
from central.tariffs.catalog import DEFAULT_DIR, load_dir


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(
    engine: Engine | str,
    *,
    tariffs_dir: Path = DEFAULT_DIR,
    clock: Callable[[], datetime] = _now,
    receipt_keys: Mapping[str, Sequence[str]] | None = None,
) -> FastAPI:
    """The app over ``engine`` (or a database URL). The schema must be migrated already.

    ``receipt_keys``: the gateways' receipt public keys (settings ``[receipts] keys``).
    """
    from central.api import (
        billing,
        errors,
        gateways,
        readings,
        readings_manual,
        receipts_verify,
        records,
        tariffs,
    )
    from central.receipts.verify import parse_keys

    if isinstance(engine, str):
        engine = make_engine(engine)
    app = FastAPI(
        title="meter2cash central",
        version="1",
        description="Readings, gateways, tariffs, customer records and billing for a utility.",
    )
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.clock = clock
    app.state.tariff_files = load_dir(tariffs_dir)
    app.state.receipt_keys = parse_keys(receipt_keys or {})
    errors.install(app)
    for module in (tariffs, records, readings_manual, billing):
        app.include_router(module.router, prefix="/api/v1")
    # these carry their paths themselves (the receipt page lives at /r/, outside /api/v1)
    for module in (readings, gateways, receipts_verify):
        app.include_router(module.router)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    return app
