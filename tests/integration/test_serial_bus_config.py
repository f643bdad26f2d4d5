"""Bus configuration → devices, read from simulators; bad configuration refused up front."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from gateway.polling.serialbus import (
    IecBusConfig,
    MbusBusConfig,
    build_iec_bus,
    build_mbus_bus,
    parse_tz,
)
from simulators.iec_meter import IecBus, IecMeter, IecMeterSpec
from simulators.mbus_meter import MbusBus, MbusMeter, MbusMeterSpec

BUSES = TypeAdapter(list[IecBusConfig | MbusBusConfig])


def config(text: str) -> list[IecBusConfig | MbusBusConfig]:
    return BUSES.validate_python(tomllib.loads(text)["buses"])


def test_configured_buses_read_their_meters(tmp_path: Path) -> None:
    buses = config(f"""
        [[buses]]
        kind = "iec62056-21"
        port = "{tmp_path / "ttyUSB0"}"
        answer_s = 0.5
        meters = [
          {{ id = "elec-1001", address = "1001", meter_tz = "Asia/Ho_Chi_Minh" }},
          {{ id = "elec-1002", address = "1002", meter_tz = "+07:00", period_s = 60 }},
        ]

        [[buses]]
        kind = "mbus"
        port = "{tmp_path / "ttyAMA0"}"
        answer_s = 0.3
        meters = [
          {{ id = "water-1", primary = 1, meter_tz = "+07:00" }},
          {{ id = "water-2", secondary = "1000fff2", meter_tz = "+07:00" }},
        ]
    """)
    iec_cfg, mbus_cfg = buses
    assert isinstance(iec_cfg, IecBusConfig)
    assert isinstance(mbus_cfg, MbusBusConfig)
    assert iec_cfg.meters[1].period_s == 60
    now = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)

    async def body() -> dict[str, float]:
        iec_meters = [
            IecMeter(IecMeterSpec(address=a, start_kwh=kwh), clock=lambda: now)
            for a, kwh in (("1001", 10.0), ("1002", 20.0))
        ]
        mbus_meters = [
            MbusMeter(MbusMeterSpec(primary=p, id=10000000 + p, start=v), clock=lambda: now)
            for p, v in ((1, 1.0), (2, 2.0))
        ]
        values = {}
        async with IecBus(iec_meters, link=iec_cfg.port), MbusBus(mbus_meters, link=mbus_cfg.port):
            for build, cfg in ((build_iec_bus, iec_cfg), (build_mbus_bus, mbus_cfg)):
                port, devices = build(cfg)  # type: ignore[operator]
                for device in devices:
                    for reading in await device.read():
                        assert reading.ts == now  # meter clocks in +07:00, read back as UTC
                        values[f"{reading.meter_id}/{reading.quantity}"] = reading.value
                port.close()
        return values

    values = asyncio.run(asyncio.wait_for(body(), 20))
    assert values["elec-1001/energy_import"] == pytest.approx(10.0)
    assert values["elec-1002/energy_import"] == pytest.approx(20.0)
    assert values["water-1/volume"] == pytest.approx(1.0)
    assert values["water-2/volume"] == pytest.approx(2.0)


def mbus(*meters: dict[str, object], **extra: object) -> dict[str, object]:
    return {"kind": "mbus", "port": "p", "meters": list(meters), **extra}


def iec(*meters: dict[str, object], **extra: object) -> dict[str, object]:
    return {"kind": "iec62056-21", "port": "p", "meters": list(meters), **extra}


@pytest.mark.parametrize(
    ("bus", "message"),
    [
        (mbus({"id": "m", "primary": 1, "secondary": "1234FFFF"}), "not both"),
        (mbus({"id": "m"}), "not both or neither"),
        (mbus({"id": "m", "primary": 251}), "less than or equal"),
        (mbus({"id": "m", "primary": 1}, speed=2400), "Extra inputs"),
        (mbus({"id": "m", "secondary": "1234"}), "pattern"),
        (iec({"id": "a"}, {"id": "b", "address": "2"}), "shared bus"),
        (iec({"id": "a", "meter_tz": "Mars/Base"}), "time zone"),
        (iec({"id": "a", "max_baud": 115200}), "max_baud"),
        (iec({"id": "a", "address": "1!"}), "letters"),
        (iec(), "at least 1"),
    ],
)
def test_bad_configuration_is_refused(bus: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BUSES.validate_python([bus])


def test_time_zones() -> None:
    assert parse_tz("+07:00").utcoffset(None) == timedelta(hours=7)
    assert parse_tz("-03:30").utcoffset(None) == -timedelta(hours=3, minutes=30)
    assert parse_tz("UTC").utcoffset(datetime(2026, 1, 1)) == timedelta(0)
