from sqlalchemy import inspect

from central.db.engine import make_engine
from central.db.migrate import upgrade


def test_migrations_build_the_schema_on_both_backends(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert "readings" in inspect(engine).get_table_names()
    engine.dispose()
