"""The gateway's devices: their health as the pollers record it, and one event per outage.

Every source keeps one :class:`~gateway.polling.health.DeviceHealth` per device (a bus
scheduler through its trackers, a synthetic meter itself). :class:`DeviceRegistry` holds no
copy: status and metrics read those live records. It turns the schedulers' state changes into
one ``device_down`` event when an outage starts (the first failed read) and one ``device_up``
when it ends (the next good read). A scheduler that replaces another carries its devices'
records on (:class:`~gateway.polling.scheduler.BusScheduler`), so an outage outlives a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Literal

from contract.mqtt import Event
from gateway.polling.health import DeviceHealth, HealthEvent

Records = Callable[[], Iterable[DeviceHealth]]
Publish = Callable[[Event], None]


class DeviceRegistry:
    """Reads the pollers' records; publishes ``device_down`` / ``device_up``."""

    def __init__(self, gateway_id: str, *, records: Records, publish: Publish) -> None:
        self.gateway_id = gateway_id
        self._records = records
        self._publish = publish
        self._outages: dict[str, tuple[datetime, str]] = {}  # device: (since, bus)

    def snapshot(self) -> list[DeviceHealth]:
        """A copy of every device's record, by device id (safe to read from another thread)."""
        copies = [replace(h, errors=dict(h.errors)) for h in self._records()]
        return sorted(copies, key=lambda h: h.device_id)

    def on_health(self, event: HealthEvent) -> None:
        """A scheduler's device changed state (the schedulers' ``on_event``)."""
        outage = event.device_id in self._outages
        if event.state != "ok" and not outage:
            self._outages[event.device_id] = (event.ts, event.bus)
            detail = {"bus": event.bus, "kind": event.error_kind, "detail": event.detail}
            self._event("device_down", "warning", event.device_id, event.ts, detail)
        elif event.state == "ok" and outage:
            self._up(event.device_id, event.ts)

    def retain(self, device_ids: Collection[str]) -> None:
        """Forget the outages of devices no longer configured."""
        for device_id in set(self._outages) - set(device_ids):
            del self._outages[device_id]

    def _up(self, device_id: str, ts: datetime) -> None:
        since, bus = self._outages.pop(device_id)
        detail = {"bus": bus, "down_s": round((ts - since).total_seconds(), 1)}
        self._event("device_up", "info", device_id, ts, detail)

    def _event(
        self,
        kind: str,
        severity: Literal["info", "warning"],
        subject: str,
        ts: datetime,
        detail: Mapping[str, object],
    ) -> None:
        self._publish(
            Event(
                gateway_id=self.gateway_id,
                kind=kind,
                ts=ts,
                subject=subject,
                severity=severity,
                detail=dict(detail),
            )
        )
