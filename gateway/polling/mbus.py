"""A wired M-Bus meter as a :class:`gateway.polling.device.PolledDevice`.

``read()`` addresses the meter by primary address (SND_NKE, REQ_UD2) or by secondary address
(select, REQ_UD2 to 253), collects every telegram, and turns the current (storage 0) records
into readings in our units: volume m3, energy kWh, power kW, flow m3/h, temperatures degC / K.
The meter's type F date-time, where it sends one, stamps the readings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, timedelta, tzinfo
from decimal import Decimal

from contract.mqtt import Reading
from drivers.mbus.datatypes import MeterDateTime
from drivers.mbus.errors import MbusError
from drivers.mbus.master import SelectSecondary
from drivers.mbus.records import Record, Telegram
from drivers.mbus.transport import MbusLink, Sleep, read_meter
from drivers.serialport import AsyncSerialPort, SerialPortError
from gateway.polling.device import DeviceError
from gateway.polling.meterclock import Clock, stamp, utcnow

# (record quantity, wire unit) → (our unit, factor)
_UNITS: dict[tuple[str, str], tuple[str, Decimal]] = {
    ("volume", "m3"): ("m3", Decimal(1)),
    ("energy", "Wh"): ("kWh", Decimal("0.001")),
    ("energy", "J"): ("kWh", Decimal(1) / Decimal(3_600_000)),
    ("power", "W"): ("kW", Decimal("0.001")),
    ("power", "J/h"): ("kW", Decimal(1) / Decimal(3_600_000)),
    ("volume_flow", "m3/h"): ("m3/h", Decimal(1)),
    ("volume_flow", "m3/min"): ("m3/h", Decimal(60)),
    ("volume_flow", "m3/s"): ("m3/h", Decimal(3600)),
    ("flow_temperature", "degC"): ("degC", Decimal(1)),
    ("return_temperature", "degC"): ("degC", Decimal(1)),
    ("external_temperature", "degC"): ("degC", Decimal(1)),
    ("temperature_difference", "K"): ("K", Decimal(1)),
    ("mass", "kg"): ("kg", Decimal(1)),
    ("pressure", "bar"): ("bar", Decimal(1)),
}
_NAMES = {"volume_flow": "flow"}
_ELECTRICITY = 0x02


def quantity_name(record: Record, medium: int) -> str:
    if record.quantity == "energy":
        name = "energy_import" if medium == _ELECTRICITY else "heat_energy"
    elif record.quantity == "power":
        name = "power_active" if medium == _ELECTRICITY else "heat_power"
    else:
        name = _NAMES.get(record.quantity, record.quantity)
    return f"{name}_t{record.tariff}" if record.tariff else name


class MbusDevice:
    def __init__(
        self,
        device_id: str,
        *,
        transport: AsyncSerialPort,
        primary: int | None = None,
        secondary: str | None = None,
        link: MbusLink | None = None,
        meter_tz: tzinfo = UTC,
        clock_tolerance: timedelta = timedelta(minutes=5),
        silence_s: float = 0.05,
        timeout_s: float | None = None,
        clock: Clock = utcnow,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if (primary is None) == (secondary is None):
            raise ValueError(f"{device_id}: give a primary or a secondary address")
        self._device_id = device_id
        self.transport = transport
        self.primary = primary
        self.secondary = SelectSecondary(secondary) if secondary is not None else None
        if self.secondary is not None:
            self.secondary.encode_data()  # refuses a malformed pattern now, not at the first read
        self.link = link or MbusLink()
        self.meter_tz = meter_tz
        self.clock_tolerance = clock_tolerance
        self._silence_s = silence_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._sleep = sleep
        self.last_telegrams: list[Telegram] = []

    @property
    def device_id(self) -> str:
        return self._device_id

    @property
    def silence_s(self) -> float:
        return self._silence_s

    @property
    def timeout_s(self) -> float:
        """Two exchanges per telegram, each retried, each at most an answer wait plus 260 bytes."""
        if self._timeout_s is not None:
            return self._timeout_s
        link = self.link
        exchange = link.answer_s + link.line().seconds(260) + link.pause_s + link.gap_s
        return exchange * (link.retries + 1) * (1 + min(link.max_telegrams, 2))

    async def read(self) -> Sequence[Reading]:
        try:
            self.transport.open()
            telegrams = await read_meter(
                self.transport,
                self.link,
                primary=self.primary,
                secondary=self.secondary,
                sleep=self._sleep,
            )
        except MbusError as exc:
            if exc.kind == "transport":
                self.transport.close()  # reopened by the next read: survives a replugged adapter
            raise DeviceError(self.device_id, exc.kind, str(exc)) from exc
        except SerialPortError as exc:
            self.transport.close()
            raise DeviceError(self.device_id, "transport", str(exc)) from exc
        now = self._clock()
        self.last_telegrams = telegrams
        medium = telegrams[0].header.medium
        records = [r for t in telegrams for r in t.records]
        current = [r for r in records if r.storage == 0 and r.subunit == 0]
        current = [r for r in current if r.function == "instantaneous"]
        meter_time = None
        for record in current:
            if isinstance(record.value, MeterDateTime):
                meter_time = record.value.value.replace(tzinfo=self.meter_tz)
        ts, quality = stamp(meter_time, now=now, tolerance=self.clock_tolerance)
        readings: list[Reading] = []
        seen: set[str] = set()
        for record in current:
            unit = _UNITS.get((record.quantity, record.unit))
            name = quantity_name(record, medium)
            if unit is None or not isinstance(record.value, Decimal) or name in seen:
                continue  # a second record of one quantity (another VIF) is not a new reading
            seen.add(name)
            readings.append(
                Reading(
                    meter_id=self.device_id,
                    quantity=name,
                    value=float(record.value * unit[1]),
                    unit=unit[0],
                    ts=ts,
                    quality=quality,
                )
            )
        return readings
