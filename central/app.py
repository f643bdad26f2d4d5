"""The central FastAPI application, built by :func:`create_app` (never at import time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, text

from central.db.engine import make_engine, session_factory
from central.settings import PaymentsSettings
from central.tariffs.catalog import DEFAULT_DIR, load_dir


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(
    engine: Engine | str,
    *,
    tariffs_dir: Path = DEFAULT_DIR,
    clock: Callable[[], datetime] = _now,
    payments: PaymentsSettings | None = None,
) -> FastAPI:
    """The app over ``engine`` (or a database URL). The schema must be migrated already."""
    from central.api import (
        billing,
        errors,
        gateways,
        payments_bank,
        payments_prepaid,
        payments_vnpay,
        payments_wallet,
        readings,
        readings_manual,
        records,
        tariffs,
    )
    from central.api import (
        payments as payments_api,
    )

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
    app.state.payments = payments or PaymentsSettings()
    app.state.tariff_files = load_dir(tariffs_dir)
    errors.install(app)
    for module in (
        tariffs,
        records,
        readings_manual,
        billing,
        payments_vnpay,
        payments_bank,
        payments_prepaid,
        payments_wallet,
        payments_api,
    ):
        app.include_router(module.router, prefix="/api/v1")
    for module in (readings, gateways):  # these carry their /api/v1 prefix themselves
        app.include_router(module.router)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    return app
