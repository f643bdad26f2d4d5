from __future__ import annotations

import tomllib
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from contract.mqtt import Reading
from drivers.modbus.planner import Request
from gateway.polling.config import ModbusRtuBus, ModbusTcpBus, PollingConfig
from gateway.polling.factory import PollingConfigError, build_schedulers
from gateway.polling.modbus import ModbusDevice

EXAMPLE = """
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

[[buses]]
kind = "modbus-tcp"
name = "plant"
host = "10.0.0.5"
concurrency = 8
period_s = 15

[[buses.meters]]
id = "sdm120-a"
model = "eastron-sdm120"
unit_id = 3

[[buses.meters]]
id = "sdm120-b"
model = "eastron-sdm120"
host = "10.0.0.6"
overrides = { quantities = ["energy_import"] }
"""


async def _sink(readings: Sequence[Reading]) -> None:
    return None


def test_example_parses_into_the_union() -> None:
    cfg = PollingConfig.model_validate(tomllib.loads(EXAMPLE))
    rtu, tcp = cfg.buses
    assert isinstance(rtu, ModbusRtuBus)
    assert isinstance(tcp, ModbusTcpBus)
    assert rtu.bits_per_char == 11
    assert tcp.meters[1].unit_id == 1


def test_factory_builds_one_scheduler_per_bus_with_planned_devices() -> None:
    cfg = PollingConfig.model_validate(tomllib.loads(EXAMPLE))
    scheds = build_schedulers(
        cfg.buses, sink=_sink, on_event=lambda e: None, registry=CollectorRegistry()
    )
    assert [(s.name, s.exclusive) for s in scheds] == [("cabinet-a", True), ("plant", False)]
    sdm630, water = scheds[0].devices
    assert isinstance(sdm630, ModbusDevice)
    assert isinstance(water, ModbusDevice)
    assert sdm630.requests == (Request(4, 0, 76), Request(4, 0x156, 2))
    assert water.silence_s == pytest.approx(0.02)
    assert sdm630.link is water.link  # one serial port, one client
    a, b = scheds[1].devices
    assert isinstance(a, ModbusDevice)
    assert isinstance(b, ModbusDevice)
    assert a.link is not b.link  # two hosts
    assert b.requests == (Request(4, 0x48, 2),)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (("unit_id = 7", "unit_id = 1"), "share unit_id 1"),
        (('kind = "modbus-tcp"', 'kind = "modbus-udp"'), "modbus-rtu"),
        (('id = "sdm120-b"', 'id = "sdm630-01"'), "is on bus 'cabinet-a' and bus 'plant'"),
        (("baud = 9600", "baud = 9600\nbuad = 1"), "Extra inputs"),
    ],
)
def test_config_errors_are_precise(patch: tuple[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PollingConfig.model_validate(tomllib.loads(EXAMPLE.replace(*patch)))


def test_unknown_model_names_bus_and_meter() -> None:
    cfg = PollingConfig.model_validate(
        tomllib.loads(EXAMPLE.replace('"dynaflox-ultrad"', '"dynaflox-ultra"'))
    )
    with pytest.raises(PollingConfigError, match=r"bus 'cabinet-a' meter 'water-07'.*no model"):
        build_schedulers(
            cfg.buses, sink=_sink, on_event=lambda e: None, registry=CollectorRegistry()
        )
