"""An IEC 62056-21 mode C meter as a :class:`gateway.polling.device.PolledDevice`.

Each ``read()`` is one data readout on the bus's shared port: sign-on (addressed on a
shared bus) at the sign-on speed, identification, ACK and speed switch, data block. The OBIS
values we know become readings; the meter's clock (0.9.1 time, 0.9.2 date) gives their time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from contract.mqtt import Reading
from drivers.iec62056 import obis
from drivers.iec62056.errors import IecError
from drivers.iec62056.transport import IecLink, Readout, read_out
from drivers.serialport import AsyncSerialPort
from gateway.polling.serialdevice import SerialDevice, SerialOptions

# Codec error kinds → the countable kinds every protocol's DeviceError uses.
_KINDS = {"bcc": "crc", "parity": "garbled", "protocol": "protocol", "timeout": "timeout"}


class IecDevice(SerialDevice):
    _codec_error = IecError

    def __init__(
        self,
        device_id: str,
        *,
        transport: AsyncSerialPort,
        link: IecLink | None = None,
        silence_s: float = 0.2,
        **options: Unpack[SerialOptions],
    ) -> None:
        super().__init__(device_id, transport=transport, silence_s=silence_s, **options)
        self.link = link or IecLink()
        self.last_readout: Readout | None = None

    def _default_timeout_s(self) -> float:
        """Wake-up, two answer waits, reaction times, sign-on messages at the sign-on speed and a
        1 KiB data block at 2400 baud or more; pass ``timeout_s`` for slower, larger meters."""
        link = self.link
        wake = link.wake_up_s + link.wake_up_pause_s if link.wake_up_s else 0.0
        signon = link.line(link.signon_baud).seconds(64)
        block = link.line(max(2400, min(link.max_baud, 9600))).seconds(1024)
        return wake + 2 * link.answer_s + 0.4 + signon + block

    def _error_kind(self, exc: Exception) -> str:
        return _KINDS.get(getattr(exc, "kind", ""), "transport")

    async def read(self) -> Sequence[Reading]:
        with self._exchange():
            readout = await read_out(self.transport, self.link, sleep=self._sleep)
            now = self._clock()
            values = obis.values(readout.datasets)
            local = obis.meter_clock(readout.datasets)
        self.last_readout = readout
        ts, quality = self._stamp(local, now)
        if not self._new(ts, quality):
            return []
        readings = []
        for v in values:
            if v.at is None:
                at, flags = ts, quality
            else:  # a maximum carries the meter's time of the maximum
                at = self._meter_time(v.at)
                flags = tuple(f for f in quality if f != "time_from_gateway")
            readings.append(self._reading(v.quantity, float(v.value), v.unit, at, flags))
        return readings
