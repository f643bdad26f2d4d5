"""A deterministic, countable test meter (``[[synthetic]]`` in the gateway configuration).

Sample ``n`` of meter ``id`` has timestamp ``base_ts + n * step_s`` and, for each configured
quantity, a value that is a function of ``n`` alone. The meter's position is checkpointed in
the outbox in the same transaction as its readings, so after ``kill -9`` it resumes exactly
after the last committed sample: the set of readings a run produces is known in advance
(``count`` samples × quantities), which is what the chaos test compares central against.
Each read is counted in the source's :class:`~gateway.polling.health.DeviceHealth` record,
the same kind a bus scheduler keeps for its devices.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from contract.mqtt import Reading
from gateway.polling.health import DeviceHealth
from gateway.settings import SyntheticMeter

UNITS = {"energy": "kWh", "volume": "m3", "voltage": "V", "current": "A", "power": "W"}
Submit = Callable[..., Awaitable[None]]  # submit(readings, *, checkpoint=(key, value))


def _wall() -> datetime:
    return datetime.now(UTC)


def value_of(quantity: str, n: int) -> float:
    """Cumulative quantities grow with ``n``; others cycle."""
    if quantity.startswith(("energy", "volume")):
        return round(n * 0.25, 4)
    return round(230.0 + (n % 20) * 0.5, 4)


def sample(spec: SyntheticMeter, n: int) -> list[Reading]:
    ts = spec.base_ts + timedelta(seconds=n * spec.step_s)
    return [
        Reading(
            meter_id=spec.id,
            quantity=q,
            value=value_of(q, n),
            unit=UNITS.get(q.split("_")[0], ""),
            ts=ts,
        )
        for q in spec.quantities
    ]


def expected(spec: SyntheticMeter) -> set[tuple[str, str, str]]:
    """Every identity ``(meter, quantity, ts iso)`` a finished run of ``spec`` produces."""
    if spec.count is None:
        raise ValueError("an endless synthetic meter has no expected set")
    return {
        (r.meter_id, r.quantity, r.ts.isoformat())
        for n in range(spec.count)
        for r in sample(spec, n)
    }


class SyntheticMeterSource:
    def __init__(
        self,
        spec: SyntheticMeter,
        *,
        submit: Submit,
        position: Callable[[str], str | None],
        wall: Callable[[], datetime] = _wall,
    ) -> None:
        self.spec = spec
        self.submit = submit
        self.health = DeviceHealth(spec.id)
        self._wall = wall
        self.key = f"synthetic:{spec.id}"
        saved = position(self.key)
        self.next_n = int(saved) if saved is not None else 0

    @property
    def device_id(self) -> str:
        return self.spec.id

    def take(self) -> tuple[Sequence[Reading], int]:
        end = self.next_n + self.spec.samples_per_read
        if self.spec.count is not None:
            end = min(end, self.spec.count)
        readings = [r for n in range(self.next_n, end) for r in sample(self.spec, n)]
        return readings, end

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not stop.is_set():
            readings, end = self.take()
            if not readings:
                return  # all ``count`` samples produced
            await self.submit(readings, checkpoint=(self.key, str(end)))
            self.next_n = end
            self.health.record_ok(len(readings), self._wall())
            next_at += self.spec.period_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_at - loop.time()))
