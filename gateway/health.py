"""Per-device health, shared by every poller and read by metrics, status and events.

A scheduler calls :meth:`DeviceHealth.success` or :meth:`DeviceHealth.failure` after each
read. A device that starts failing produces one ``device_down`` event, and one ``device_up``
when it answers again: once per outage, not once per poll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class DeviceState:
    device_id: str
    up: bool = False
    reads: int = 0
    readings: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    last_success: float | None = None
    last_error: str = ""
    down_since: float | None = None


EventSink = Callable[..., None]  # on_event(kind, *, subject, severity, detail)


class DeviceHealth:
    def __init__(
        self, *, on_event: EventSink | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._states: dict[str, DeviceState] = {}
        self._lock = threading.Lock()
        self.on_event = on_event
        self.clock = clock

    def register(self, device_id: str) -> None:
        with self._lock:
            self._states.setdefault(device_id, DeviceState(device_id))

    def success(self, device_id: str, readings: int) -> None:
        now = self.clock()
        with self._lock:
            old = self._states.get(device_id, DeviceState(device_id))
            self._states[device_id] = replace(
                old,
                up=True,
                reads=old.reads + 1,
                readings=old.readings + readings,
                last_success=now,
                down_since=None,
            )
        if old.down_since is not None:
            self._emit("device_up", device_id, "info", {"down_s": round(now - old.down_since, 1)})

    def failure(self, device_id: str, kind: str, detail: str = "") -> None:
        now = self.clock()
        with self._lock:
            old = self._states.get(device_id, DeviceState(device_id))
            errors = {**old.errors, kind: old.errors.get(kind, 0) + 1}
            self._states[device_id] = replace(
                old,
                up=False,
                errors=errors,
                last_error=f"{kind}: {detail}" if detail else kind,
                down_since=old.down_since if old.down_since is not None else now,
            )
        if old.down_since is None:
            self._emit("device_down", device_id, "warning", {"kind": kind, "detail": detail})

    def snapshot(self) -> list[DeviceState]:
        with self._lock:
            return sorted(self._states.values(), key=lambda s: s.device_id)

    def _emit(self, kind: str, subject: str, severity: str, detail: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(kind, subject=subject, severity=severity, detail=detail)
