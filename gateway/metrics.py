"""Prometheus metrics of one gateway, read at scrape time from the outbox, uplink and health.

The ``m2c_device_*`` families are read from the pollers' own health records (those behind the
schedulers' ``m2c_poll_*``, and the synthetic meters'). A private registry (no process-global
state); :func:`serve` exposes it over HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.health import DeviceRegistry
from gateway.outbox import Outbox, OutboxStats


class GatewayCollector(Collector):
    def __init__(
        self,
        outbox: Outbox,
        health: DeviceRegistry,
        uplink: Any,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.health = health
        self.uplink = uplink
        self.clock = clock
        self._last: tuple[float, int] | None = None

    def publish_rate(self) -> float:
        """Readings acknowledged per second since the previous scrape."""
        now, acked = self.clock(), int(self.uplink.published)
        last, self._last = self._last, (now, acked)
        if last is None or now <= last[0]:
            return 0.0
        return (acked - last[1]) / (now - last[0])

    def collect(self) -> Iterator[Any]:
        stats: OutboxStats = self.outbox.stats()
        depth = GaugeMetricFamily(
            "m2c_outbox_depth", "Items waiting in the outbox", labels=["channel"]
        )
        for channel, n in stats.by_channel.items():
            depth.add_metric([channel], n)
        yield depth
        yield GaugeMetricFamily(
            "m2c_outbox_oldest_age_seconds", "Age of the oldest item", value=stats.oldest_age_s
        )
        yield GaugeMetricFamily("m2c_outbox_bytes", "Outbox file bytes in use", stats.file_bytes)
        yield GaugeMetricFamily("m2c_outbox_inflight_messages", "Formed, not acked", stats.inflight)
        yield CounterMetricFamily("m2c_outbox_written", "Readings written", value=stats.written)
        yield CounterMetricFamily("m2c_outbox_dropped", "Readings dropped by quota", stats.dropped)
        yield CounterMetricFamily(
            "m2c_uplink_acked_readings",
            "Readings that left the outbox (confirmed by central, or PUBACKed where not confirmed)",
            self.uplink.published,
        )
        yield GaugeMetricFamily(
            "m2c_uplink_awaiting_central",
            "Messages the broker acknowledged that central has not yet confirmed",
            self.uplink.awaiting_central,
        )
        yield CounterMetricFamily(
            "m2c_uplink_resent_unconfirmed",
            "Messages sent again for want of central's confirmation",
            self.uplink.resent_unconfirmed,
        )
        yield GaugeMetricFamily(
            "m2c_uplink_publish_rate", "Readings acknowledged per second", self.publish_rate()
        )
        yield GaugeMetricFamily(
            "m2c_uplink_acks_pending", "Messages awaiting PUBACK", self.uplink.acks_pending
        )
        yield GaugeMetricFamily(
            "m2c_uplink_connected", "1 when connected to the broker", int(self.uplink.connected)
        )
        up = GaugeMetricFamily("m2c_device_up", "1 when the last read worked", labels=["device"])
        reads = CounterMetricFamily("m2c_device_reads", "Successful reads", labels=["device"])
        errors = CounterMetricFamily(
            "m2c_device_errors", "Failed reads by kind", labels=["device", "kind"]
        )
        last = GaugeMetricFamily(
            "m2c_device_last_success_timestamp_seconds", "Last good read", labels=["device"]
        )
        for h in self.health.snapshot():
            up.add_metric([h.device_id], int(h.up))
            reads.add_metric([h.device_id], h.reads - h.failures)
            for kind, n in h.errors.items():
                errors.add_metric([h.device_id, kind], n)
            if h.last_ok_at is not None:
                last.add_metric([h.device_id], h.last_ok_at.timestamp())
        yield from (up, reads, errors, last)


def serve(registry: CollectorRegistry, host: str, port: int) -> tuple[Any, int]:
    """Start the HTTP endpoint in a thread; returns (server, port actually bound)."""
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server, int(server.server_port)
