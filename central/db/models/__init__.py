"""All tables. Import a module here so Alembic and ``create_all`` see its tables."""

from central.db.models import billing, ingest, meterdata, payments, readings, records  # noqa: F401
