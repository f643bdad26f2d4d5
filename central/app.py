"""The central FastAPI application, built by :func:`create_app` (never at import time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, text

from central.auth import public
from central.auth.service import Authenticator
from central.db.engine import make_engine, session_factory
from central.settings import AuthSettings, ChannelsSettings
from central.tariffs.catalog import DEFAULT_DIR, load_dir


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(
    engine: Engine | str,
    *,
    tariffs_dir: Path = DEFAULT_DIR,
    clock: Callable[[], datetime] = _now,
    channels: ChannelsSettings | None = None,
    auth_settings: AuthSettings | None = None,
    auth_secret: bytes | None = None,
) -> FastAPI:
    """The app over ``engine`` (or a database URL). The schema must be migrated already.

    ``auth_secret`` signs access tokens (``central.auth.secret.load`` reads the configured
    one); without it the app makes a random one, and its tokens die with it.
    """
    from central.api import (
        auth,
        billing,
        errors,
        gateways,
        lookup,
        me,
        readings,
        readings_manual,
        records,
        service,
        tariffs,
    )
    from central.api import (
        channels as channels_api,
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
    app.state.tariff_files = load_dir(tariffs_dir)
    app.state.channels = channels or ChannelsSettings()
    authenticator = Authenticator(
        app.state.sessions, clock, settings=auth_settings or AuthSettings()
    )
    if auth_secret is not None:
        authenticator.secret = auth_secret
    app.state.auth = authenticator
    errors.install(app)
    for module in (auth, tariffs, records, readings_manual, billing):
        app.include_router(module.router, prefix="/api/v1")
    for module in (
        readings,
        gateways,
        channels_api,
        lookup,
        service,
        me,
    ):  # these carry their own prefix
        app.include_router(module.router)

    @app.get("/healthz", tags=["operations"], dependencies=[public()])
    def healthz() -> dict[str, str]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    return app
