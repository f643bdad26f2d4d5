"""An IEC 62056-21 mode C meter as a :class:`gateway.polling.device.PolledDevice`.

Each ``read()`` is one data readout on the bus's shared port: sign-on (addressed on a
shared bus) at the sign-on speed, identification, ACK and speed switch, data block. The OBIS
values we know become readings; the meter's clock (0.9.1 time, 0.9.2 date) gives their time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, timedelta, tzinfo

from contract.mqtt import Reading
from drivers.iec62056 import obis
from drivers.iec62056.errors import IecError
from drivers.iec62056.transport import IecLink, Readout, Sleep, read_out
from drivers.serialport import AsyncSerialPort, SerialPortError
from gateway.polling.device import DeviceError
from gateway.polling.meterclock import Clock, stamp, utcnow

# Codec error kinds → the countable kinds every protocol's DeviceError uses.
_KINDS = {"bcc": "crc", "parity": "garbled", "protocol": "protocol", "timeout": "timeout"}


class IecDevice:
    def __init__(
        self,
        device_id: str,
        *,
        transport: AsyncSerialPort,
        link: IecLink | None = None,
        meter_tz: tzinfo = UTC,
        clock_tolerance: timedelta = timedelta(minutes=5),
        silence_s: float = 0.2,
        timeout_s: float | None = None,
        clock: Clock = utcnow,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._device_id = device_id
        self.transport = transport
        self.link = link or IecLink()
        self.meter_tz = meter_tz
        self.clock_tolerance = clock_tolerance
        self._silence_s = silence_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._sleep = sleep
        self.last_readout: Readout | None = None

    @property
    def device_id(self) -> str:
        return self._device_id

    @property
    def silence_s(self) -> float:
        return self._silence_s

    @property
    def timeout_s(self) -> float:
        """Wake-up, two answer waits, reaction times, sign-on messages at the sign-on speed and a
        1 KiB data block at 2400 baud or more; pass ``timeout_s`` for slower, larger meters."""
        if self._timeout_s is not None:
            return self._timeout_s
        link = self.link
        wake = link.wake_up_s + link.wake_up_pause_s if link.wake_up_s else 0.0
        signon = link.line(link.signon_baud).seconds(64)
        block = link.line(max(2400, min(link.max_baud, 9600))).seconds(1024)
        return wake + 2 * link.answer_s + 0.4 + signon + block

    async def read(self) -> Sequence[Reading]:
        try:
            self.transport.open()
            readout = await read_out(self.transport, self.link, sleep=self._sleep)
            now = self._clock()
            values = obis.values(readout.datasets)
            local = obis.meter_clock(readout.datasets)
        except IecError as exc:
            kind = _KINDS.get(getattr(exc, "kind", ""), "transport")
            if kind == "transport":
                self.transport.close()  # reopened by the next read: survives a replugged adapter
            raise DeviceError(self.device_id, kind, str(exc)) from exc
        except SerialPortError as exc:
            self.transport.close()
            raise DeviceError(self.device_id, "transport", str(exc)) from exc
        self.last_readout = readout
        meter_time = local.replace(tzinfo=self.meter_tz) if local is not None else None
        ts, quality = stamp(meter_time, now=now, tolerance=self.clock_tolerance)
        readings = []
        for v in values:
            if v.at is None:
                at, flags = ts, quality
            else:  # a maximum carries the meter's time of the maximum
                at = v.at.replace(tzinfo=self.meter_tz)
                flags = tuple(f for f in quality if f != "time_from_gateway")
            readings.append(
                Reading(
                    meter_id=self.device_id,
                    quantity=v.quantity,
                    value=float(v.value),
                    unit=v.unit,
                    ts=at,
                    quality=flags,
                )
            )
        return readings
