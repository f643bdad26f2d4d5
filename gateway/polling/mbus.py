"""A wired M-Bus meter as a :class:`gateway.polling.device.PolledDevice`.

``read()`` addresses the meter by primary address (SND_NKE, REQ_UD2) or by secondary address
(select, REQ_UD2 to 253), collects every telegram, and turns the current (storage 0) records
into readings in our units: volume m3, energy kWh, power kW, volume_flow m3/h (the name Modbus
meters use), temperatures degC / K.
The meter's type F date-time, where it sends one, stamps the readings; it counts whole minutes,
so a second read within a minute gives no new readings (see
:mod:`gateway.polling.serialdevice`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Unpack

from contract.mqtt import Reading
from drivers.mbus.datatypes import MeterDateTime
from drivers.mbus.errors import MbusError
from drivers.mbus.master import SelectSecondary
from drivers.mbus.records import Record, Telegram
from drivers.mbus.transport import MbusLink, read_meter
from drivers.serialport import AsyncSerialPort
from gateway.polling.serialdevice import SerialDevice, SerialOptions

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
_ELECTRICITY = 0x02


def quantity_name(record: Record, medium: int) -> str:
    if record.quantity == "energy":
        name = "energy_import" if medium == _ELECTRICITY else "heat_energy"
    elif record.quantity == "power":
        name = "power_active" if medium == _ELECTRICITY else "heat_power"
    else:
        name = record.quantity  # volume, volume_flow, ...: the names Modbus meters use
    return f"{name}_t{record.tariff}" if record.tariff else name


class MbusDevice(SerialDevice):
    _codec_error = MbusError

    def __init__(
        self,
        device_id: str,
        *,
        transport: AsyncSerialPort,
        primary: int | None = None,
        secondary: str | None = None,
        link: MbusLink | None = None,
        silence_s: float = 0.05,
        **options: Unpack[SerialOptions],
    ) -> None:
        if (primary is None) == (secondary is None):
            raise ValueError(f"{device_id}: give a primary or a secondary address")
        super().__init__(device_id, transport=transport, silence_s=silence_s, **options)
        self.primary = primary
        self.secondary = SelectSecondary(secondary) if secondary is not None else None
        if self.secondary is not None:
            self.secondary.encode_data()  # refuses a malformed pattern now, not at the first read
        self.link = link or MbusLink()
        self.last_telegrams: list[Telegram] = []

    def _default_timeout_s(self) -> float:
        """Two exchanges per telegram, each retried, each at most an answer wait plus 260 bytes."""
        link = self.link
        exchange = link.answer_s + link.line().seconds(260) + link.pause_s + link.gap_s
        return exchange * (link.retries + 1) * (1 + min(link.max_telegrams, 2))

    async def read(self) -> Sequence[Reading]:
        with self._exchange():
            telegrams = await read_meter(
                self.transport,
                self.link,
                primary=self.primary,
                secondary=self.secondary,
                sleep=self._sleep,
            )
        now = self._clock()
        self.last_telegrams = telegrams
        medium = telegrams[0].header.medium
        records = [r for t in telegrams for r in t.records]
        current = [r for r in records if r.storage == 0 and r.subunit == 0]
        current = [r for r in current if r.function == "instantaneous"]
        local = None
        for record in current:
            if isinstance(record.value, MeterDateTime):
                local = record.value.value
        ts, quality = self._stamp(local, now)
        if not self._new(ts, quality):
            return []
        readings: list[Reading] = []
        seen: set[str] = set()
        for record in current:
            unit = _UNITS.get((record.quantity, record.unit))
            name = quantity_name(record, medium)
            if unit is None or not isinstance(record.value, Decimal) or name in seen:
                continue  # a second record of one quantity (another VIF) is not a new reading
            seen.add(name)
            value = float(record.value * unit[1])
            readings.append(self._reading(name, value, unit[0], ts, quality))
        return readings
