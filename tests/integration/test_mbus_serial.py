"""MbusDevice reads simulated M-Bus water and heat meters over real pseudo-terminals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest

from contract.mqtt import Reading
from drivers.mbus.scan import scan_secondary
from drivers.mbus.transport import MbusLink
from drivers.serialport import AsyncSerialPort, LineSettings
from gateway.polling.device import DeviceError
from gateway.polling.mbus import MbusDevice
from simulators.mbus_meter import MbusBus, MbusMeter, MbusMeterSpec
from simulators.profiles import Faults

T = TypeVar("T")
HANOI = timezone(timedelta(hours=7))
FAST = MbusLink(answer_s=0.3, gap_s=0.1)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # 07:30 in Hanoi

    def __call__(self) -> datetime:
        return self.now


def run(body: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(body(), 20))


def by_quantity(readings: Sequence[Reading]) -> dict[str, Reading]:
    return {r.quantity: r for r in readings}


def water(primary: int, clock: FakeClock, **spec: object) -> MbusMeter:
    return MbusMeter(MbusMeterSpec(primary=primary, id=10000000 + primary, **spec), clock=clock)  # type: ignore[arg-type]


def device(
    bus: MbusBus,
    clock: FakeClock,
    primary: int | None = 1,
    port: AsyncSerialPort | None = None,
    **kwargs: object,
) -> MbusDevice:
    port = port or AsyncSerialPort(bus.path, LineSettings(2400, 8, "E"))
    kwargs.setdefault("link", FAST)
    return MbusDevice(
        f"water-{primary}",
        transport=port,
        primary=primary,
        meter_tz=HANOI,
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def test_water_meter_by_primary_address(tmp_path: Path) -> None:
    clock = FakeClock()

    async def body() -> None:
        meters = [water(1, clock, start=100.0), water(2, clock, start=200.0, mean_rate=0.1)]
        async with MbusBus(meters, link=tmp_path / "ttyAMA0") as bus:
            dev = device(bus, clock)
            first = by_quantity(await dev.read())
            clock.now += timedelta(hours=1)
            second = by_quantity(await dev.read())
            other = by_quantity(await device(bus, clock, 2, dev.transport).read())
            dev.transport.close()
            assert dev.last_telegrams[0].header.id == 10000001
            assert dev.last_telegrams[0].header.manufacturer == "MCS"
            assert meters[0].reads == 2
        volume = first["volume"]
        assert (volume.value, volume.unit, volume.quality) == (100.0, "m3", ())
        assert volume.ts == clock.now - timedelta(hours=1)  # the meter's own clock
        # 07:30-08:30 local is the morning peak: about 1.9 × 0.05 m³/h
        assert 0.05 < second["volume"].value - volume.value < 0.15
        assert first["volume_flow"].unit == "m3/h"
        assert first["volume_flow"].value > 0
        assert 200.0 < other["volume"].value < 200.4  # its own hour of flow at 0.1 m³/h mean
        assert set(first) == {"volume", "volume_flow"}  # history and error flags are not readings

    run(body)


def test_unknown_primary_address_is_silent() -> None:
    clock = FakeClock()

    async def body() -> None:
        async with MbusBus([water(1, clock)]) as bus:
            dev = device(bus, clock, primary=9)
            with pytest.raises(DeviceError) as info:
                await dev.read()
            dev.transport.close()
            assert info.value.kind == "timeout"
            assert bus.counters.answers == 0

    run(body)


def test_heat_meter_multi_telegram_by_secondary_address() -> None:
    clock = FakeClock()

    async def body() -> None:
        heat = MbusMeter(
            MbusMeterSpec(
                primary=7, id=55501234, kind="heat", start=5000.0, mean_rate=4.0, telegrams=2
            ),
            clock=clock,
        )
        async with MbusBus([water(1, clock), heat]) as bus:
            port = AsyncSerialPort(bus.path, LineSettings(2400, 8, "E"))
            dev = MbusDevice(
                "heat-7", transport=port, secondary="5550FFFF", link=FAST, clock=clock,
                meter_tz=HANOI,
            )  # fmt: skip
            readings = by_quantity(await dev.read())
            port.close()
            assert len(dev.last_telegrams) == 2
            assert dev.last_telegrams[0].more_follows
            history = [r for r in dev.last_telegrams[1].records if r.storage]
            assert len(history) == 12
        assert readings["heat_energy"].value == pytest.approx(5000.0)
        assert readings["heat_energy"].unit == "kWh"
        assert readings["heat_energy_t1"].value == pytest.approx(2000.0)
        assert readings["heat_power"].unit == "kW"
        assert readings["flow_temperature"].value == pytest.approx(70.0)
        assert readings["return_temperature"].value == pytest.approx(50.0)
        assert readings["temperature_difference"].value == pytest.approx(20.0)
        assert readings["volume"].value == pytest.approx(100.0)

    run(body)


def test_retry_after_a_garbled_answer_gets_the_repeat() -> None:
    clock = FakeClock()

    async def body() -> None:
        meter = water(1, clock, faults=Faults(split=True))
        async with MbusBus([meter]) as bus:
            dev = device(bus, clock, link=MbusLink(answer_s=0.3, gap_s=0.1, retries=1))
            original = bus._rsp_ud

            def once_broken(m: MbusMeter, fcb: bool) -> bytes:
                answer = original(m, fcb)
                if bus.counters.repeats == 0:
                    return answer[:-3] + bytes([answer[-3] ^ 0xFF]) + answer[-2:]
                return answer

            bus._rsp_ud = once_broken  # type: ignore[method-assign]
            readings = by_quantity(await dev.read())
            dev.transport.close()
            assert bus.counters.repeats == 1
            assert meter.reads == 1  # the repeat is the same telegram, not a new one
            assert readings["volume"].value == pytest.approx(1234.567)

    run(body)


@pytest.mark.parametrize(
    ("faults", "kind"),
    [
        (Faults(no_answer=True), "timeout"),
        (Faults(late_answer_s=0.5), "timeout"),
        (Faults(garble=True), "crc"),
        (Faults(bad_checksum=True), "crc"),
    ],
)
def test_faults_become_device_errors(faults: Faults, kind: str) -> None:
    clock = FakeClock()

    async def body() -> None:
        async with MbusBus([water(1, clock, faults=faults)]) as bus:
            dev = device(bus, clock, link=MbusLink(answer_s=0.3, gap_s=0.1, retries=0))
            with pytest.raises(DeviceError) as info:
                await dev.read()
            assert info.value.kind == kind
            faults.__init__()  # type: ignore[misc]
            await asyncio.sleep(0.5)
            assert by_quantity(await dev.read())["volume"]
            dev.transport.close()

    run(body)


def test_stuck_meter_and_drifting_clock() -> None:
    clock = FakeClock()

    async def body() -> None:
        faults = Faults(stuck=True, clock_drift_s=-3600)
        async with MbusBus([water(1, clock, faults=faults)]) as bus:
            dev = device(bus, clock)
            first = by_quantity(await dev.read())
            clock.now += timedelta(hours=3)
            second = by_quantity(await dev.read())
            dev.transport.close()
        # volume and flow frozen alike; the clock runs on
        assert {q: r.value for q, r in first.items()} == {q: r.value for q, r in second.items()}
        assert set(first) == {"volume", "volume_flow"}
        assert second["volume"].quality == ("clock_suspect",)
        assert second["volume"].ts == clock.now - timedelta(hours=1)

    run(body)


def test_wrong_speed_is_not_heard() -> None:
    clock = FakeClock()

    async def body() -> None:
        async with MbusBus([water(1, clock)]) as bus:
            dev = device(bus, clock, link=MbusLink(baudrate=9600, answer_s=0.2, retries=0))
            with pytest.raises(DeviceError, match="timeout"):
                await dev.read()
            dev.transport.close()
            assert bus.counters.ignored == 1

    run(body)


def test_secondary_scan_finds_every_meter() -> None:
    clock = FakeClock()

    async def body() -> None:
        specs = [(1, 12345678, "water"), (2, 12399999, "water"), (7, 55501234, "heat")]
        meters = [
            MbusMeter(MbusMeterSpec(primary=p, id=i, kind=k), clock=clock)  # type: ignore[arg-type]
            for p, i, k in specs
        ]
        async with MbusBus(meters) as bus:
            port = AsyncSerialPort(bus.path, LineSettings(2400, 8, "E"))
            port.open()
            found = await scan_secondary(port, MbusLink(answer_s=0.05, gap_s=0.05))
            port.close()
        assert sorted(f.header.id for f in found) == [12345678, 12399999, 55501234]
        assert {f.header.id: f.header.medium_name for f in found}[55501234] == "heat"
        assert {f.pattern for f in found} == {"1234FFFF", "1239FFFF", "5FFFFFFF"}

    run(body)


def test_secondary_scan_of_an_empty_bus() -> None:
    async def body() -> None:
        async with MbusBus([]) as bus:
            port = AsyncSerialPort(bus.path, LineSettings(2400, 8, "E"))
            port.open()
            found = await scan_secondary(port, MbusLink(answer_s=0.02, gap_s=0.02))
            port.close()
        assert found == []

    run(body)


def test_each_secondary_read_starts_afresh() -> None:
    clock = FakeClock()

    async def body() -> None:
        async with MbusBus([water(1, clock), water(2, clock)]) as bus:
            port = AsyncSerialPort(bus.path, LineSettings(2400, 8, "E"))
            dev = MbusDevice(
                "w2", transport=port, secondary="10000002", link=FAST, clock=clock, meter_tz=HANOI
            )
            first = by_quantity(await dev.read())["volume"].value
            clock.now += timedelta(hours=2)
            second = by_quantity(await dev.read())["volume"].value
            port.close()
            assert bus.counters.repeats == 0
            assert second > first  # a fresh telegram, not the last one repeated

    run(body)


def test_a_reading_whose_meter_minute_has_not_moved_on_is_not_published_again() -> None:
    """The meter stamps whole minutes and is read every 20 s: one set of readings a minute."""
    clock = FakeClock()

    async def body() -> None:
        meter = water(1, clock, mean_rate=50.0)  # fast enough to change between reads
        async with MbusBus([meter]) as bus:
            dev = device(bus, clock)
            first = by_quantity(await dev.read())
            volumes = [meter.register.advance()]
            clock.now += timedelta(seconds=20)
            again = await dev.read()
            volumes.append(meter.register.advance())
            clock.now += timedelta(seconds=20)
            still = await dev.read()
            clock.now += timedelta(seconds=25)  # 07:31:05 in Hanoi: the next minute
            later = by_quantity(await dev.read())
            dev.transport.close()
        assert volumes[1] > volumes[0]  # the meter's value moved within the minute...
        assert again == []  # ...but its timestamp did not: no new reading
        assert still == []
        assert dev.repeated_timestamps == 2
        assert first["volume"].ts == datetime(2026, 3, 2, 7, 30, tzinfo=HANOI)
        assert later["volume"].ts == datetime(2026, 3, 2, 7, 31, tzinfo=HANOI)
        assert later["volume"].value > first["volume"].value

    run(body)


def test_a_meter_clock_without_a_zone_is_a_config_error_not_utc() -> None:
    clock = FakeClock()

    async def body() -> None:
        async with MbusBus([water(1, clock)]) as bus:
            port = AsyncSerialPort(bus.path, LineSettings(2400, 8, "E"))
            dev = MbusDevice("w1", transport=port, primary=1, link=FAST, clock=clock)
            with pytest.raises(DeviceError) as info:
                await dev.read()
            port.close()
        assert info.value.kind == "config"
        assert "meter_tz" in info.value.detail

    run(body)
