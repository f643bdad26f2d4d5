"""Write a readings batch: one row per identity (meter, quantity, ts); redelivery is a no-op."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.base import Executable

from central.db.models.readings import ReadingRow
from contract.mqtt import ReadingsBatch


def store_batch(engine: Engine, batch: ReadingsBatch) -> int:
    """Insert the batch's readings; returns how many were new."""
    now = datetime.now(UTC)
    rows = [
        {
            "meter_id": r.meter_id,
            "quantity": r.quantity,
            "ts": r.ts,
            "value": r.value,
            "unit": r.unit,
            "quality": ",".join(r.quality),
            "source": "gateway",
            "gateway_id": batch.gateway_id,
            "seq": batch.seq,
            "received_at": now,
        }
        for r in batch.readings
    ]
    identity = ["meter_id", "quantity", "ts"]
    stmt: Executable
    if engine.dialect.name == "postgresql":
        stmt = postgresql.insert(ReadingRow).on_conflict_do_nothing(index_elements=identity)
    elif engine.dialect.name == "sqlite":
        stmt = sqlite.insert(ReadingRow).on_conflict_do_nothing(index_elements=identity)
    else:
        raise ValueError(f"unsupported database {engine.dialect.name!r}")
    with engine.begin() as conn:
        result = conn.execute(stmt, rows)
    return max(int(getattr(result, "rowcount", 0)), 0)
