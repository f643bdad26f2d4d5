"""Configuration of IEC 62056-21 and M-Bus buses, and the devices built from it.

A bus is one serial port; its meters share it. The models refuse unknown keys, so a typo in a
site's file is an error at start-up, not a meter silently left unread.

    [[buses]]
    kind = "iec62056-21"
    port = "/dev/ttyUSB0"
    meters = [{ id = "elec-1001", address = "1001" }, { id = "elec-1002", address = "1002" }]

    [[buses]]
    kind = "mbus"
    port = "/dev/ttyAMA0"
    meters = [{ id = "water-1", primary = 1 }, { id = "heat-7", secondary = "5550FFFF" }]
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from drivers.iec62056.frames import ADDRESS_CHARS, BAUD_CHAR_OF
from drivers.iec62056.transport import IecLink
from drivers.mbus.transport import MbusLink
from drivers.serialport import AsyncSerialPort, LineSettings
from gateway.polling.iec import IecDevice
from gateway.polling.mbus import MbusDevice
from gateway.polling.serialdevice import SerialOptions

_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")
_METER_ID = r"^[A-Za-z0-9_.:-]{1,64}$"


def parse_tz(value: str) -> tzinfo:
    """An IANA zone (``Asia/Ho_Chi_Minh``), ``UTC``, or a fixed offset (``+07:00``)."""
    if _OFFSET.match(value):
        sign = -1 if value[0] == "-" else 1
        hours, minutes = int(value[1:3]), int(value[4:6])
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"time zone {value!r} is neither an IANA name nor +HH:MM") from exc


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _MeterBase(_Model):
    id: str = Field(pattern=_METER_ID, description="meter id, used in readings")
    period_s: float = Field(default=900.0, gt=0, description="how often to read it")
    meter_tz: str | None = Field(
        default=None,
        description="time zone of the meter's clock (default: the bus's meter_tz; no default "
        "beyond that: a meter that sends its clock without a zone fails its reads)",
    )
    clock_tolerance_s: float = Field(default=300.0, gt=0)
    timeout_s: float | None = Field(default=None, gt=0)

    @field_validator("meter_tz")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            parse_tz(value)
        return value

    def device_options(self, default_tz: str | None = None) -> SerialOptions:
        """The device arguments every protocol takes from a meter's entry."""
        zone = self.meter_tz or default_tz
        return {
            "meter_tz": parse_tz(zone) if zone is not None else None,
            "clock_tolerance": timedelta(seconds=self.clock_tolerance_s),
            "timeout_s": self.timeout_s,
        }


class IecMeterConfig(_MeterBase):
    address: str = Field(
        default="", max_length=32, description="device address; '' on a port of one"
    )
    max_baud: int = 19200
    wake_up_s: float = Field(default=0.0, ge=0, description="battery meters: about 2.2")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not set(value) <= ADDRESS_CHARS:
            raise ValueError(f"device address {value!r}: letters, digits and spaces only")
        return value

    @field_validator("max_baud")
    @classmethod
    def _baud(cls, value: int) -> int:
        if value not in BAUD_CHAR_OF:
            raise ValueError(f"max_baud {value} is not one of {sorted(BAUD_CHAR_OF)}")
        return value


STANDARD_BAUDS = (300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200)
MBUS_BAUDS = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400)  # EN 13757-2


def check_baud(value: int, allowed: tuple[int, ...] = STANDARD_BAUDS) -> int:
    if value not in allowed:
        raise ValueError(f"baud {value} is not a standard rate ({', '.join(map(str, allowed))})")
    return value


class _BusBase(_Model):
    kind: str
    name: str = Field(default="", description="how logs and metrics call the bus (default: port)")
    enabled: bool = True
    port: str
    meter_tz: str | None = Field(
        default=None, description="the zone of its meters' clocks, unless a meter says otherwise"
    )

    @field_validator("meter_tz")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            parse_tz(value)
        return value


class IecBusConfig(_BusBase):
    kind: Literal["iec62056-21"]
    signon_baud: int = 300
    framing: Literal["7E1", "8N1"] = Field(
        default="7E1", description="8N1: the port cannot do 7E1; parity is checked in software"
    )
    answer_s: float = Field(default=1.5, gt=0)
    gap_s: float = Field(default=1.5, gt=0)
    silence_s: float = Field(default=0.2, ge=0)
    meters: list[IecMeterConfig] = Field(min_length=1)

    @field_validator("signon_baud")
    @classmethod
    def _signon_baud(cls, value: int) -> int:
        return check_baud(value, tuple(sorted(BAUD_CHAR_OF)))

    @model_validator(mode="after")
    def _shared_bus(self) -> IecBusConfig:
        if len(self.meters) > 1 and any(not m.address for m in self.meters):
            raise ValueError(f"{self.port}: every meter on a shared bus needs its address")
        return self


class MbusMeterConfig(_MeterBase):
    primary: int | None = Field(default=None, ge=0, le=250)
    secondary: str | None = Field(default=None, pattern=r"^[0-9Ff]{8}$")

    @model_validator(mode="after")
    def _one_address(self) -> MbusMeterConfig:
        if (self.primary is None) == (self.secondary is None):
            raise ValueError(f"meter {self.id}: give primary or secondary, not both or neither")
        return self


class MbusBusConfig(_BusBase):
    kind: Literal["mbus"]
    baud: int = 2400
    answer_s: float = Field(default=0.5, gt=0)
    gap_s: float = Field(default=0.1, gt=0)
    retries: int = Field(default=1, ge=0, le=5)
    max_telegrams: int = Field(default=8, ge=1, le=32)
    silence_s: float = Field(default=0.05, ge=0)
    meters: list[MbusMeterConfig] = Field(min_length=1)

    @field_validator("baud")
    @classmethod
    def _baud(cls, value: int) -> int:
        return check_baud(value, MBUS_BAUDS)


def build_iec_bus(config: IecBusConfig) -> tuple[AsyncSerialPort, list[IecDevice]]:
    """The bus's port (not yet open) and one device per meter."""
    eight = config.framing == "8N1"
    port = AsyncSerialPort(
        config.port, LineSettings(config.signon_baud, 8 if eight else 7, "N" if eight else "E")
    )
    devices = []
    for meter in config.meters:
        link = IecLink(
            address=meter.address,
            signon_baud=config.signon_baud,
            max_baud=meter.max_baud,
            bytesize=8 if eight else 7,
            parity="check" if eight else "strip",
            wake_up_s=meter.wake_up_s,
            answer_s=config.answer_s,
            gap_s=config.gap_s,
        )
        devices.append(
            IecDevice(
                meter.id,
                transport=port,
                link=link,
                silence_s=config.silence_s,
                **meter.device_options(config.meter_tz),
            )
        )
    return port, devices


def build_mbus_bus(config: MbusBusConfig) -> tuple[AsyncSerialPort, list[MbusDevice]]:
    link = MbusLink(
        baudrate=config.baud,
        answer_s=config.answer_s,
        gap_s=config.gap_s,
        retries=config.retries,
        max_telegrams=config.max_telegrams,
    )
    port = AsyncSerialPort(config.port, link.line())
    devices = [
        MbusDevice(
            meter.id,
            transport=port,
            primary=meter.primary,
            secondary=meter.secondary,
            link=link,
            silence_s=config.silence_s,
            **meter.device_options(config.meter_tz),
        )
        for meter in config.meters
    ]
    return port, devices
