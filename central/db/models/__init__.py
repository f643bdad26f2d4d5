"""All tables. Import a module here so Alembic and ``create_all`` see its tables."""

from central.db.models import (  # noqa: F401
    auth,
    billing,
    channels,
    identity,
    ingest,
    meterdata,
    notifications,
    payments,
    readings,
    records,
    selfservice,
    service,
)
