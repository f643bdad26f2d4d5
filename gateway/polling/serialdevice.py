"""What the meters on a serial bus (IEC 62056-21, M-Bus) share as polled devices.

The bus's shared port, the injected clock and sleep, the translation of codec and port errors
into :class:`DeviceError`, and the stamping of readings with the meter's own clock.

A meter's clock is local time in ``meter_tz``; there is no default zone: a meter that sends its
clock to a device without ``meter_tz`` fails its read as a ``config`` error that says so, rather
than being taken for UTC. A meter's timestamp is its readings' identity, so readings whose
timestamp has not moved on since the last ones published (an M-Bus meter stamps whole minutes
and may be read every few seconds) are not new readings: the read returns none, counted in
``repeated_timestamps``, and logged the first time.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, tzinfo
from typing import ClassVar, TypedDict

import structlog

from contract.mqtt import QualityFlag, Reading
from drivers.serialport import AsyncSerialPort, SerialPortError
from gateway.polling.device import DeviceError
from gateway.polling.meterclock import Clock, stamp, utcnow

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Quality = tuple[QualityFlag, ...]


class SerialOptions(TypedDict, total=False):
    """The keyword arguments every serial device takes besides its port, link and silence."""

    meter_tz: tzinfo | None
    clock_tolerance: timedelta
    timeout_s: float | None
    clock: Clock
    sleep: Sleep


class SerialDevice(ABC):
    """One meter on a serial bus. A subclass reads it and knows how long a read may take."""

    _codec_error: ClassVar[type[Exception]]
    """The base of the protocol codec's errors, which all carry a ``kind``."""

    def __init__(
        self,
        device_id: str,
        *,
        transport: AsyncSerialPort,
        silence_s: float,
        meter_tz: tzinfo | None = None,
        clock_tolerance: timedelta = timedelta(minutes=5),
        timeout_s: float | None = None,
        clock: Clock = utcnow,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._device_id = device_id
        self.transport = transport
        self.meter_tz = meter_tz
        self.clock_tolerance = clock_tolerance
        self._silence_s = silence_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._sleep = sleep
        self._last_meter_ts: datetime | None = None
        self.repeated_timestamps = 0

    @property
    def device_id(self) -> str:
        return self._device_id

    @property
    def silence_s(self) -> float:
        return self._silence_s

    @property
    def timeout_s(self) -> float:
        """``timeout_s`` as given, else the protocol's estimate for one read."""
        return self._timeout_s if self._timeout_s is not None else self._default_timeout_s()

    @abstractmethod
    def _default_timeout_s(self) -> float:
        """The protocol's estimate of how long one read may take."""

    def _error_kind(self, exc: Exception) -> str:
        """The countable kind of a codec error: the codec's own, unless a subclass maps it."""
        return str(getattr(exc, "kind", "transport"))

    @contextmanager
    def _exchange(self) -> Iterator[None]:
        """Open the port for a read and turn codec and port errors into :class:`DeviceError`.

        A transport failure closes the port; the next read reopens it, so a replugged adapter
        is survived.
        """
        try:
            self.transport.open()
            yield
        except self._codec_error as exc:
            kind = self._error_kind(exc)
            if kind == "transport":
                self.transport.close()
            raise DeviceError(self.device_id, kind, str(exc)) from exc
        except SerialPortError as exc:
            self.transport.close()
            raise DeviceError(self.device_id, "transport", str(exc)) from exc

    def _meter_time(self, local: datetime) -> datetime:
        """A time as the meter sends it (naive), in the meter's zone."""
        if self.meter_tz is None:
            raise DeviceError(
                self.device_id,
                "config",
                f"the meter sends its clock ({local:%Y-%m-%d %H:%M:%S}) but no meter_tz is "
                "set: give the zone of its clock (IANA name or +HH:MM)",
            )
        return local.replace(tzinfo=self.meter_tz)

    def _new(self, ts: datetime, quality: Quality) -> bool:
        """Whether readings stamped ``ts`` are new: the meter's clock moved on since the last
        readings published (readings the gateway stamps always are)."""
        if "time_from_gateway" in quality:
            return True
        last = self._last_meter_ts
        if last is not None and ts <= last:
            self.repeated_timestamps += 1
            if self.repeated_timestamps == 1 or ts < last:
                log.info(
                    "meter clock has not moved on since the last readings: not new readings",
                    device=self.device_id,
                    meter_ts=ts.isoformat(),
                    last_ts=last.isoformat(),
                )
            return False
        self._last_meter_ts = ts
        return True

    def _stamp(self, local: datetime | None, now: datetime) -> tuple[datetime, Quality]:
        """Timestamp and flags for readings taken at ``now`` from a meter showing ``local``."""
        meter_time = self._meter_time(local) if local is not None else None
        return stamp(meter_time, now=now, tolerance=self.clock_tolerance)

    def _reading(
        self, quantity: str, value: float, unit: str, ts: datetime, quality: Quality
    ) -> Reading:
        return Reading(
            meter_id=self.device_id,
            quantity=quantity,
            value=value,
            unit=unit,
            ts=ts,
            quality=quality,
        )
