"""All tables. Import a module here so Alembic and ``create_all`` see its tables."""

from central.db.models import auth, billing, ingest, meterdata, readings, records  # noqa: F401
