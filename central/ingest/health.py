"""Ingest's health as operators see it: the ``/healthz`` document and Prometheus metrics.

Anything with a ``health()`` returning :class:`~central.ingest.worker.IngestHealth` (an
:class:`~central.ingest.worker.IngestWorker`) can be watched; the API process that runs no
worker reports the database only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from central.ingest.worker import IngestHealth


class Watched(Protocol):
    def health(self) -> IngestHealth: ...


def document(h: IngestHealth) -> dict[str, Any]:
    """The ``ingest`` part of ``/healthz``."""
    return {
        "status": "ok" if h.ok and h.connected else ("degraded" if h.ok else "failed"),
        "alive": h.alive,
        "broker_connected": h.connected,
        "database_ok": h.database_ok,
        "retrying_s": round(h.retrying_s, 1),
        "queued_messages": h.queued,
        "lag_s": round(h.lag_s, 3),
        "last_stored_at": h.last_stored_at.isoformat() if h.last_stored_at else None,
        "last_error": h.last_error,
        "messages": h.totals.messages,
        "readings_stored": h.totals.readings_new,
        "duplicates": h.totals.duplicates,
        "quarantined": h.totals.quarantined,
        "refused_by_database": h.isolated,
        "db_failures": h.db_failures,
    }


class IngestCollector(Collector):
    """Metrics of the worker ``source()`` returns (none when it returns None)."""

    def __init__(self, source: Callable[[], Watched | None]) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        watched = self.source()
        if watched is None:
            return
        h = watched.health()
        yield GaugeMetricFamily("m2c_ingest_alive", "1 while the store thread runs", int(h.alive))
        yield GaugeMetricFamily(
            "m2c_ingest_broker_connected", "1 when subscribed to the broker", int(h.connected)
        )
        yield GaugeMetricFamily(
            "m2c_ingest_database_ok", "0 while the database cannot be reached", int(h.database_ok)
        )
        yield GaugeMetricFamily(
            "m2c_ingest_retrying_seconds",
            "How long a batch has waited for the database",
            h.retrying_s,
        )
        yield GaugeMetricFamily("m2c_ingest_queued_messages", "Received, not yet stored", h.queued)
        yield GaugeMetricFamily(
            "m2c_ingest_lag_seconds", "Age of the oldest message not yet stored", h.lag_s
        )
        yield GaugeMetricFamily(
            "m2c_ingest_last_stored_timestamp_seconds",
            "When the last transaction committed (0: never)",
            h.last_stored_at.timestamp() if h.last_stored_at else 0.0,
        )
        totals = CounterMetricFamily(
            "m2c_ingest_items", "What ingest handled, by kind", labels=["kind"]
        )
        for f in fields(h.totals):
            totals.add_metric([f.name], getattr(h.totals, f.name))
        yield totals
        yield CounterMetricFamily(
            "m2c_ingest_refused_by_database",
            "Messages quarantined because the database refused them",
            h.isolated,
        )
        yield CounterMetricFamily(
            "m2c_ingest_db_failures",
            "Transactions that failed for want of the database",
            h.db_failures,
        )
