"""A real central ingest worker on a SQLite file, for tests of gateways that need central's
confirmations (``IngestAck``) to empty their outbox."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.models.readings import ReadingRow
from central.ingest.worker import IngestWorker
from central.settings import BrokerSettings


class Central:
    def __init__(self, worker: IngestWorker) -> None:
        self.worker = worker
        self.engine = worker.engine

    def readings(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(ReadingRow)) or 0)

    def identities(self) -> list[tuple[str, str, str, float]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ReadingRow.meter_id, ReadingRow.quantity, ReadingRow.ts, ReadingRow.value)
            ).all()
        return [(m, q, ts.isoformat(), v) for m, q, ts, v in rows]


@contextmanager
def central_ingest(port: int, db: Path, *, client_id: str = "test-central") -> Iterator[Central]:
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    worker = IngestWorker(BrokerSettings(port=port, client_id=client_id), engine)
    worker.start()
    try:
        assert worker.connected.wait(15), "central ingest did not subscribe"
        yield Central(worker)
    finally:
        worker.stop()
        engine.dispose()
