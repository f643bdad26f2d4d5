"""IecDevice reads simulated IEC 62056-21 meters over real pseudo-terminals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest
import serial

from contract.mqtt import Reading
from drivers.iec62056.transport import IecLink
from drivers.serialport import AsyncSerialPort, LineSettings
from gateway.polling.device import DeviceError
from gateway.polling.iec import IecDevice
from simulators.iec_meter import IecBus, IecMeter, IecMeterSpec
from simulators.profiles import Faults

T = TypeVar("T")
HANOI = timezone(timedelta(hours=7))
FAST = IecLink(answer_s=0.4, gap_s=0.3)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 in Hanoi

    def __call__(self) -> datetime:
        return self.now


def run(body: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(body(), 20))


def meter(address: str, clock: FakeClock, **spec: object) -> IecMeter:
    return IecMeter(IecMeterSpec(address=address, **spec), clock=clock)  # type: ignore[arg-type]


def device(bus: IecBus, clock: FakeClock, link: IecLink = FAST, **kwargs: object) -> IecDevice:
    port = AsyncSerialPort(bus.path, LineSettings(300, 7, "E"))
    return IecDevice("elec-1", transport=port, link=link, meter_tz=HANOI, clock=clock, **kwargs)  # type: ignore[arg-type]


def by_quantity(readings: Sequence[Reading]) -> dict[str, Reading]:
    return {r.quantity: r for r in readings}


def test_reads_energy_with_the_meters_own_clock(tmp_path: Path) -> None:
    clock = FakeClock()

    async def body() -> None:
        async with IecBus([meter("", clock)], link=tmp_path / "ttyUSB0") as bus:
            assert bus.path == str(tmp_path / "ttyUSB0")
            dev = device(bus, clock)
            first = by_quantity(await dev.read())
            clock.now += timedelta(hours=1)
            second = by_quantity(await dev.read())
            dev.transport.close()
            assert bus.counters.readouts == 2
            assert dev.last_readout is not None
            assert dev.last_readout.baudrate == 9600
            assert dev.last_readout.identification.maker == "MCs"
        energy1, energy2 = first["energy_import"], second["energy_import"]
        assert energy1.unit == "kWh"
        assert energy1.value == pytest.approx(12345.678)
        # one hour around 08:00 local at a 1.2 kW mean: between 0.5 and 2.5 kWh
        assert 0.5 < energy2.value - energy1.value < 2.5
        assert energy1.ts == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
        assert energy1.quality == ()
        assert {"power_import", "voltage_l1", "current_l1", "frequency"} <= set(first)
        peak = first["power_import_max"]  # the month's maximum, stamped with its own time
        assert peak.value == first["power_import"].value
        assert peak.ts == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    run(body)


def test_shared_bus_answers_only_the_addressed_meter(tmp_path: Path) -> None:
    clock = FakeClock()

    async def body() -> None:
        meters = [meter("1001", clock, start_kwh=100.0), meter("1002", clock, start_kwh=200.0)]
        async with IecBus(meters) as bus:
            port = AsyncSerialPort(bus.path, LineSettings(300, 7, "E"))
            results, speeds = {}, {}
            for address, max_baud in (("1001", 19200), ("1002", 2400)):
                dev = IecDevice(
                    f"m{address}",
                    transport=port,
                    link=IecLink(address=address, max_baud=max_baud, answer_s=0.4, gap_s=0.3),
                    clock=clock,
                    meter_tz=HANOI,
                )
                results[address] = by_quantity(await dev.read())["energy_import"]
                assert dev.last_readout is not None
                speeds[address] = dev.last_readout.baudrate
            assert speeds == {"1001": 9600, "1002": 2400}  # the meter's offer, capped by the reader
            stranger = IecDevice(
                "m9999", transport=port, link=IecLink(address="9999", answer_s=0.3), clock=clock
            )
            with pytest.raises(DeviceError) as info:
                await stranger.read()
            port.close()
            assert info.value.kind == "timeout"
            assert "no answer" in info.value.detail
            assert bus.counters.ignored == 1
        assert results["1001"].value == pytest.approx(100.0)
        assert results["1002"].value == pytest.approx(200.0)
        assert [m.reads for m in meters] == [1, 1]

    run(body)


def test_meter_refuses_data_when_the_reader_keeps_the_sign_on_speed() -> None:
    async def body() -> None:
        async with IecBus([meter("", FakeClock())], switch_grace_s=0.2) as bus:
            port = serial.Serial(bus.path, 300, bytesize=7, parity="E", timeout=0.3)
            port.write(b"/?!\r\n")
            await asyncio.sleep(0.1)
            ident = await asyncio.to_thread(port.read_until, b"\r\n")
            assert ident == b"/MCs5M2C\r\n"
            port.write(b"\x06050\r\n")  # asks for 9600 but stays at 300
            data = await asyncio.to_thread(port.read, 10)
            port.close()
            assert data == b""
            assert bus.counters.refused_speed == 1
            assert bus.counters.readouts == 0

    run(body)


def test_sign_on_at_the_wrong_speed_is_ignored() -> None:
    clock = FakeClock()

    async def body() -> None:
        async with IecBus([meter("", clock)]) as bus:
            dev = device(bus, clock, link=IecLink(signon_baud=9600, answer_s=0.3))
            with pytest.raises(DeviceError, match="timeout"):
                await dev.read()
            dev.transport.close()
            assert bus.counters.ignored == 1

    run(body)


@pytest.mark.parametrize(
    ("faults", "kind"),
    [
        (Faults(no_answer=True), "timeout"),
        (Faults(late_answer_s=0.6), "timeout"),
        (Faults(bad_checksum=True), "crc"),
        (Faults(garble=True), "protocol"),
    ],
)
def test_faults_become_device_errors(faults: Faults, kind: str) -> None:
    clock = FakeClock()

    async def body() -> None:
        async with IecBus([meter("", clock, faults=faults)]) as bus:
            dev = device(bus, clock)
            with pytest.raises(DeviceError) as info:
                await dev.read()
            assert info.value.kind == kind
            assert info.value.device_id == "elec-1"
            faults.__init__()  # type: ignore[misc]  # the meter recovers
            await asyncio.sleep(dev.silence_s + 0.3)  # the bus rests; a late answer dies out
            readings = await dev.read()
            dev.transport.close()
            assert by_quantity(readings)["energy_import"]

    run(body)


def test_a_block_broken_on_the_line_is_asked_again_with_nak() -> None:
    clock = FakeClock()

    async def body() -> None:
        async with IecBus([meter("", clock)]) as bus:
            original, broken = bus._send, []

            async def break_first_block(sender: IecMeter, data: bytes) -> None:
                if data.startswith(b"\x02") and not broken:
                    broken.append(data)
                    data = data[:-1] + bytes([data[-1] ^ 0x01])
                await original(sender, data)

            bus._send = break_first_block  # type: ignore[method-assign]
            dev = device(bus, clock)
            readings = by_quantity(await dev.read())
            dev.transport.close()
            assert bus.counters.repeats == 1
            assert readings["energy_import"].value == pytest.approx(12345.678)

    run(body)


def test_split_answers_stuck_values_and_clock_drift() -> None:
    clock = FakeClock()
    faults = Faults(split=True, stuck=True, clock_drift_s=900)

    async def body() -> None:
        async with IecBus([meter("", clock, faults=faults)]) as bus:
            dev = device(bus, clock)
            first = by_quantity(await dev.read())
            clock.now += timedelta(hours=2)  # morning to midday: the load changes
            second = by_quantity(await dev.read())
            dev.transport.close()
        # every register is frozen (not only 1.8.0); the clock runs on
        assert set(first) == set(second)
        assert len(first) >= 6
        assert {q: r.value for q, r in first.items()} == {q: r.value for q, r in second.items()}
        energy = second["energy_import"]
        assert energy.quality == ("clock_suspect",)
        assert energy.ts == clock.now + timedelta(seconds=900)

    run(body)


def test_meter_without_clock_gets_the_read_time() -> None:
    clock = FakeClock()
    clock.now = clock.now.replace(microsecond=123456)

    async def body() -> None:
        async with IecBus([meter("", clock, has_clock=False)]) as bus:
            dev = device(bus, clock)
            energy = by_quantity(await dev.read())["energy_import"]
            dev.transport.close()
        assert energy.quality == ("time_from_gateway",)
        assert energy.ts == clock.now.replace(microsecond=0)

    run(body)


def test_battery_meter_needs_wake_up() -> None:
    clock = FakeClock()

    async def body() -> None:
        async with IecBus([meter("", clock, battery=True)]) as bus:
            asleep = device(bus, clock)
            with pytest.raises(DeviceError, match="timeout"):
                await asleep.read()
            asleep.transport.close()
            link = IecLink(wake_up_s=0.1, wake_up_pause_s=0.05, answer_s=0.4, gap_s=0.3)
            awake = device(bus, clock, link=link)
            assert by_quantity(await awake.read())["energy_import"]
            awake.transport.close()

    run(body)


def test_parity_bits_on_an_8n1_port() -> None:
    """A 7E1 meter read through a port set to 8N1: bit 7 carries parity; the codec checks it."""
    clock = FakeClock()

    async def body() -> None:
        async with IecBus([meter("", clock)], parity_on_wire=True) as bus:
            link = IecLink(bytesize=8, parity="check", answer_s=0.4, gap_s=0.3)
            dev = device(bus, clock, link=link)
            assert by_quantity(await dev.read())["energy_import"]
            raw = IecLink(bytesize=8, parity="none", answer_s=0.4, gap_s=0.3)
            dev.link = raw
            with pytest.raises(DeviceError) as info:
                await dev.read()
            dev.transport.close()
            assert info.value.kind in ("protocol", "crc")

    run(body)


def test_adapter_missing_then_unplugged_then_back(tmp_path: Path) -> None:
    clock = FakeClock()
    link = tmp_path / "ttyUSB0"

    async def body() -> None:
        port = AsyncSerialPort(str(link), LineSettings(300, 7, "E"))
        dev = IecDevice("elec-1", transport=port, link=FAST, clock=clock, meter_tz=HANOI)
        with pytest.raises(DeviceError) as missing:
            await dev.read()
        assert missing.value.kind == "transport"
        async with IecBus([meter("", clock)], link=link):
            assert by_quantity(await dev.read())["energy_import"]
        with pytest.raises(DeviceError) as unplugged:  # the pty is gone: reads fail
            await dev.read()
        assert unplugged.value.kind == "transport"
        clock.now += timedelta(minutes=1)  # the same meter time again would not be new
        async with IecBus([meter("", clock)], link=link):  # a new adapter at the same path
            assert by_quantity(await dev.read())["energy_import"]
        port.close()

    run(body)


def test_a_readout_with_the_same_meter_time_is_not_new_readings() -> None:
    clock = FakeClock()

    async def body() -> None:
        async with IecBus([meter("", clock, mean_kw=500.0)]) as bus:
            dev = device(bus, clock)
            first = by_quantity(await dev.read())
            again = await dev.read()  # the meter's clock shows the same second
            clock.now += timedelta(seconds=1)
            later = by_quantity(await dev.read())
            dev.transport.close()
        assert again == []
        assert dev.repeated_timestamps == 1
        assert later["energy_import"].ts - first["energy_import"].ts == timedelta(seconds=1)

    run(body)
