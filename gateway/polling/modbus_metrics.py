"""Prometheus metrics of the Modbus links and meters, created once per registry.

The TCP clients count as they go (plain integers, nothing on the hot path); a collector reads
them when the registry is scraped, from every live link of every bus:

* ``m2c_modbus_tcp_stray_frames_total{bus,link,reason}`` — answers nobody waited for:
  ``late`` (to a request given up on) or ``unknown_id`` (a transaction id never sent);
* ``m2c_modbus_tcp_frame_errors_total{bus,link}`` — answers that did not fit their request or
  broke the stream;
* ``m2c_modbus_tcp_link_resets_total{bus,link}`` — streams closed because they could not be
  framed;
* ``m2c_modbus_tcp_connects_total{bus,link}``.

And per meter, ``m2c_modbus_block_splits_total{bus,device}``: blocks the meter refused
(exception 02) that were split into the blocks its model documents.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import ClassVar
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from drivers.modbus.tcp_client import ModbusTcpClient


class _TcpLinkCollector(Collector):
    def __init__(self) -> None:
        # by (bus, host:port): a rebuilt bus's new client replaces the old one's series
        self.clients: dict[tuple[str, str], weakref.ref[ModbusTcpClient]] = {}

    def collect(self) -> Iterator[Metric]:
        labels = ["bus", "link"]
        stray = CounterMetricFamily(
            "m2c_modbus_tcp_stray_frames",
            "Modbus TCP answers nobody waited for, by reason",
            labels=[*labels, "reason"],
        )
        errors = CounterMetricFamily(
            "m2c_modbus_tcp_frame_errors",
            "Modbus TCP answers that did not fit their request or broke the stream",
            labels=labels,
        )
        resets = CounterMetricFamily(
            "m2c_modbus_tcp_link_resets",
            "Modbus TCP streams closed because they could not be framed",
            labels=labels,
        )
        connects = CounterMetricFamily(
            "m2c_modbus_tcp_connects", "Modbus TCP connections opened", labels=labels
        )
        for (bus, name), ref in list(self.clients.items()):
            client = ref()
            if client is None:
                del self.clients[(bus, name)]
                continue
            ids = [bus, name]
            stray.add_metric([*ids, "late"], client.stray_late)
            stray.add_metric([*ids, "unknown_id"], client.stray_unknown)
            errors.add_metric(ids, client.frame_errors)
            resets.add_metric(ids, client.link_resets)
            connects.add_metric(ids, client.connects)
        yield from (stray, errors, resets, connects)


class ModbusMetrics:
    """The Modbus metrics of one registry; :meth:`for_registry` makes them once."""

    _by_registry: ClassVar[WeakKeyDictionary[CollectorRegistry, ModbusMetrics]] = (
        WeakKeyDictionary()
    )

    def __init__(self, registry: CollectorRegistry) -> None:
        self._links = _TcpLinkCollector()
        registry.register(self._links)
        self.block_splits = Counter(
            "m2c_modbus_block_splits",
            "Blocks a meter refused (exception 02) and that were split into documented blocks",
            ["bus", "device"],
            registry=registry,
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> ModbusMetrics:
        found = cls._by_registry.get(registry)
        if found is None:
            found = cls._by_registry[registry] = cls(registry)
        return found

    def watch(self, bus: str, client: ModbusTcpClient) -> None:
        """Export ``client``'s counters under ``bus`` for as long as it lives."""
        self._links.clients[(bus, client.name)] = weakref.ref(client)
