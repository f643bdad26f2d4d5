"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine, text

from central.api import gateways, readings
from central.db.engine import session_factory


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(
        title="meter2cash central",
        version="1",
        description="Readings, tariffs, billing and payments for a utility.",
    )
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.include_router(readings.router)
    app.include_router(gateways.router)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    return app
