"""The ``[[buses]]`` of the gateway's TOML: which meters sit on which bus, and how to poll them.

Each bus has a ``kind``; the kinds form a discriminated union, so another protocol
(``"iec62056-21"``, ``"mbus"``) is one more model added to :data:`Bus`.

```toml
[[buses]]
kind = "modbus-rtu"
name = "cabinet-a"
port = "/dev/ttyUSB0"
baud = 9600
parity = "E"
period_s = 60
meters = [
  { id = "sdm630-01", model = "eastron-sdm630", unit_id = 1 },
  { id = "water-07", model = "dynaflox-ultrad", unit_id = 7, overrides = { silence_ms = 20 } },
]
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contract.mqtt import MeterId
from drivers.modbus.models import MeterOverrides
from gateway.polling.serialbus import STANDARD_BAUDS, IecBusConfig, MbusBusConfig, check_baud


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModbusMeter(_Config):
    """A meter on a bus: its id (as published), its model by name, its Modbus unit id."""

    id: MeterId
    model: str = Field(min_length=1)
    unit_id: int = Field(ge=1, le=247)
    overrides: MeterOverrides = MeterOverrides()


class ModbusTcpMeter(ModbusMeter):
    """On Modbus TCP a meter may have its own address; else the bus's host and port."""

    unit_id: int = Field(default=1, ge=0, le=255)
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)


class _BusBase(_Config):
    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    period_s: float = Field(default=60.0, gt=0, description="each meter is read this often")
    jitter: float = Field(default=0.05, ge=0, lt=1, description="fraction of the period")
    enabled: bool = True


class ModbusRtuBus(_BusBase):
    """One RS-485 line behind one serial port: meters are read strictly one at a time."""

    kind: Literal["modbus-rtu"]
    port: str = Field(min_length=1, description="e.g. /dev/ttyUSB0 or a pyserial URL")
    baud: int = Field(default=9600, ge=300, le=921600)
    parity: Literal["N", "E", "O"] = "E"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    meters: list[ModbusMeter] = Field(min_length=1)

    @field_validator("baud")
    @classmethod
    def _standard_baud(cls, value: int) -> int:
        return check_baud(value, (*STANDARD_BAUDS, 230400, 460800, 921600))

    @model_validator(mode="after")
    def _unique_units(self) -> ModbusRtuBus:
        seen: dict[int, str] = {}
        for m in self.meters:
            if m.unit_id in seen:
                raise ValueError(
                    f"meters '{seen[m.unit_id]}' and '{m.id}' share unit_id {m.unit_id} "
                    f"on one RS-485 line"
                )
            seen[m.unit_id] = m.id
        return self

    @property
    def bits_per_char(self) -> int:
        return 1 + self.bytesize + (0 if self.parity == "N" else 1) + self.stopbits


class ModbusTcpBus(_BusBase):
    """Modbus TCP meters (or RTU meters behind a TCP gateway), read concurrently."""

    kind: Literal["modbus-tcp"]
    host: str = "127.0.0.1"
    port: int = Field(default=502, ge=1, le=65535)
    concurrency: int = Field(default=32, ge=1, le=4096)
    serial_gateway: bool = Field(
        default=False,
        description=(
            "the meters are RS-485 meters behind a TCP gateway: one request at a time per host "
            "and port, and each meter's silence kept; otherwise a meter's silence applies only "
            "when its overrides set silence_ms"
        ),
    )
    meters: list[ModbusTcpMeter] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_endpoints(self) -> ModbusTcpBus:
        seen: dict[tuple[str, int, int], str] = {}
        for m in self.meters:
            key = (m.host or self.host, m.port or self.port, m.unit_id)
            if key in seen:
                raise ValueError(f"meters '{seen[key]}' and '{m.id}' both are {key}")
            seen[key] = m.id
        return self


Bus = Annotated[
    ModbusRtuBus | ModbusTcpBus | IecBusConfig | MbusBusConfig, Field(discriminator="kind")
]


class PollingConfig(_Config):
    """The polling part of the gateway's configuration."""

    meter_models: list[Path] = Field(
        default_factory=list, description="more meter model directories"
    )
    buses: list[Bus] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> PollingConfig:
        names: set[str] = set()
        ids: dict[str, str] = {}
        for bus in self.buses:
            name = bus_name(bus)
            if name in names:
                raise ValueError(f"two buses are named '{name}'")
            names.add(name)
            for m in bus.meters:
                if m.id in ids:
                    raise ValueError(f"meter id '{m.id}' is on bus '{ids[m.id]}' and bus '{name}'")
                ids[m.id] = name
        return self


def bus_name(bus: Bus) -> str:
    """A serial bus of IEC or M-Bus meters is called by its port unless it is named."""
    return bus.name or getattr(bus, "port", "")
