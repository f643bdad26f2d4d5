"""Alembic environment: the engine comes from ``config.attributes['engine']``."""

from __future__ import annotations

from alembic import context

import central.db.models  # noqa: F401  (registers every table on Base.metadata)
from central.db.base import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
