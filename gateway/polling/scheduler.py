"""Bus schedulers: when each device of one bus is read.

One :class:`BusScheduler` per serial port reads strictly one device at a time and keeps the bus
quiet for the device's silence after each transaction (``exclusive=True``). On Modbus TCP the
devices are independent and read concurrently, at most ``concurrency`` at once.

Each device runs its own loop: wait until due, take the bus, read, hand the readings to the
sink, pick the next due time. Start times are staggered over the first period and every period
is jittered, so a hundred meters do not all fire in the same millisecond. A device that stops
answering is backed off (see :mod:`gateway.polling.health`): it then costs at most one timeout
per back-off period, and the others keep their periods. A scheduler that replaces another
(``records``: the old one's :meth:`BusScheduler.health`) carries each device's record on, so a
restart neither ends an outage nor resets the counters.

Time is injected: ``clock`` (monotonic seconds) and ``sleep`` let tests run a day of polling in
milliseconds; ``wall`` gives the timestamps of events.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

import structlog
from prometheus_client import CollectorRegistry

from contract.mqtt import Reading
from gateway.polling.device import DeviceError, PolledDevice
from gateway.polling.health import Backoff, DeviceHealth, HealthEvent, HealthTracker, PollMetrics

log = structlog.get_logger(__name__)

Sink = Callable[[Sequence[Reading]], Awaitable[None]]
OnEvent = Callable[[HealthEvent], None]


def _wall() -> datetime:
    return datetime.now(UTC)


class BusScheduler:
    """Polls the devices of one bus until :meth:`stop`."""

    def __init__(
        self,
        name: str,
        devices: Sequence[PolledDevice],
        *,
        period_s: float,
        periods: Mapping[str, float] | None = None,
        sink: Sink,
        on_event: OnEvent,
        registry: CollectorRegistry,
        exclusive: bool = True,
        concurrency: int = 1,
        jitter: float = 0.05,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], datetime] = _wall,
        rng: random.Random | None = None,
        on_close: Callable[[], Awaitable[None]] | None = None,
        records: Mapping[str, DeviceHealth] | None = None,
    ) -> None:
        self._periods = {d.device_id: period_s for d in devices}
        self._periods.update(periods or {})
        if min(self._periods.values(), default=0) < 0 or not 0 <= jitter < 1 or concurrency < 1:
            raise ValueError("period_s >= 0, 0 <= jitter < 1 and concurrency >= 1 are required")
        ids = [d.device_id for d in devices]
        if len(set(ids)) != len(ids):
            raise ValueError(f"bus {name}: device ids repeat")
        self.name = name
        self.devices = tuple(devices)
        self.period_s = period_s
        self.exclusive = exclusive
        self._sink = sink
        self._on_event = on_event
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._rng = rng or random.Random()
        self._jitter = jitter
        self._on_close = on_close
        self._bus = asyncio.Semaphore(1 if exclusive else concurrency)
        metrics = PollMetrics.for_registry(registry)
        longest = max(self._periods.values(), default=period_s)
        backoff = backoff or Backoff(initial_s=max(30.0, longest), max_s=max(300.0, longest))
        records = records or {}
        self._trackers = {
            d.device_id: HealthTracker(
                name, d.device_id, backoff=backoff, metrics=metrics, record=records.get(d.device_id)
            )
            for d in devices
        }
        self._stopping = asyncio.Event()
        self._wake = {d.device_id: asyncio.Event() for d in devices}
        self._log = log.bind(bus=name)

    def health(self) -> dict[str, DeviceHealth]:
        """Each device's health record, by device id (live objects: read, do not change)."""
        return {k: t.health for k, t in self._trackers.items()}

    def stop(self) -> None:
        self._stopping.set()

    def read_now(self, device_id: str | None = None) -> list[str]:
        """Read one device (or all) as soon as the bus allows, back-off or not.

        Returns the ids woken; an unknown id wakes none.
        """
        ids = list(self._wake) if device_id is None else [device_id]
        woken = [i for i in ids if i in self._wake]
        for i in woken:
            self._wake[i].set()
        return woken

    async def _wait(self, device_id: str, seconds: float) -> None:
        """Sleep ``seconds``, or less when :meth:`read_now` wakes the device."""
        wake = self._wake[device_id]
        if not wake.is_set():
            sleeper = asyncio.ensure_future(self._sleep(seconds))
            waker = asyncio.ensure_future(wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()
        wake.clear()

    async def run(self) -> None:
        """Poll until :meth:`stop`; then close the bus's transport."""
        start = self._clock()
        n = len(self.devices)
        self._log.info("polling", devices=n, period_s=self.period_s, exclusive=self.exclusive)
        try:
            async with asyncio.TaskGroup() as tg:
                for i, dev in enumerate(self.devices):
                    first = start + self._periods[dev.device_id] * i / max(n, 1)
                    tg.create_task(self._device_loop(dev, first))
                tg.create_task(self._stop_waiter())
        except* _Stopped:
            self._log.info("stopped")
        finally:
            if self._on_close is not None:
                await self._on_close()

    async def _stop_waiter(self) -> None:
        await self._stopping.wait()
        raise _Stopped

    async def _device_loop(self, dev: PolledDevice, first_due: float) -> None:
        tracker = self._trackers[dev.device_id]
        period = self._periods[dev.device_id]
        base = first_due
        due = first_due
        while not self._stopping.is_set():
            wait = due - self._clock()
            if wait > 0:
                await self._wait(dev.device_id, wait)
            readings = await self._read_once(dev, tracker)
            if readings:
                try:
                    await self._sink(readings)
                except Exception as exc:  # noqa: BLE001 - a failing sink must not stop polling
                    self._log.error("sink failed", device=dev.device_id, error=repr(exc))
            now = self._clock()
            retry = tracker.retry_after_s
            if retry is not None:
                base = due = now + retry
                continue
            if self._wake[dev.device_id].is_set():  # read_now while reading: one more read
                continue
            base += period
            if base < now - period:  # more than a period behind: skip, do not burst
                if period:
                    tracker.overrun()
                base = now
            due = base + self._rng.uniform(-self._jitter, self._jitter) * period

    async def _read_once(self, dev: PolledDevice, tracker: HealthTracker) -> Sequence[Reading]:
        async with self._bus:
            t0 = self._clock()
            readings: Sequence[Reading] = ()
            try:
                readings = await dev.read()
            except DeviceError as exc:
                event = tracker.failure(exc, now=self._wall(), duration_s=self._clock() - t0)
            except Exception as exc:  # noqa: BLE001 - a device's bug costs its read, not the bus
                self._log.exception("device read crashed", device=dev.device_id)
                err = DeviceError(dev.device_id, "internal", repr(exc))
                event = tracker.failure(err, now=self._wall(), duration_s=self._clock() - t0)
            else:
                event = tracker.success(
                    len(readings), now=self._wall(), duration_s=self._clock() - t0
                )
            if dev.silence_s > 0 and self.exclusive:
                await self._sleep(dev.silence_s)
        if event is not None:
            self._on_event(event)
        if not self.exclusive and dev.silence_s > 0:
            await self._sleep(dev.silence_s)
        return readings


class _Stopped(Exception):
    """Raised inside the task group to end it when :meth:`BusScheduler.stop` is called."""
