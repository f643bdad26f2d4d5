"""Database URLs for tests: a fresh SQLite file, or a private schema in PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> str:
    return os.environ.get("M2C_TEST_POSTGRES_URL", DEFAULT_PG)


def postgres_available() -> str | None:
    """None when reachable, else the reason."""
    import psycopg

    try:
        with psycopg.connect(postgres_base_url(), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"{postgres_base_url()}: {exc}".strip()


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections use a new, empty schema; the schema is dropped afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = postgres_base_url()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'central.db'}"
