"""The gateway's schedulers polling simulated meters over a real pty and real TCP sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest
from prometheus_client import CollectorRegistry

from contract.mqtt import Reading
from gateway.polling.config import PollingConfig
from gateway.polling.factory import build_schedulers
from gateway.polling.health import Backoff, HealthEvent
from simulators.modbus.faults import Faults, parse_faults
from simulators.modbus.meter import MeterSpec
from simulators.modbus.rtu import ModbusRtuSimulator
from simulators.modbus.tcp import ModbusTcpSimulator
from tests.support.aio import run_async

FAST = {"timeout_ms": 150}


async def _poll(
    config: dict[str, object],
    seconds: float,
    *,
    until: Callable[[list[Reading]], bool] | None = None,
    limit: float = 120.0,
) -> tuple[list[Reading], list[HealthEvent], dict[str, object], CollectorRegistry]:
    """Poll for ``seconds``; with ``until``, for as long as it takes the readings to satisfy
    it (at most ``limit``: a busy machine polls slower, never differently)."""
    cfg = PollingConfig.model_validate(config)
    got: list[Reading] = []
    events: list[HealthEvent] = []
    registry = CollectorRegistry()
    enough = asyncio.Event()

    async def sink(readings: Sequence[Reading]) -> None:
        got.extend(readings)
        if until is not None and until(got):
            enough.set()

    (sched,) = build_schedulers(
        cfg.buses,
        sink=sink,
        on_event=events.append,
        registry=registry,
        backoff=Backoff(down_after=3, initial_s=30, max_s=30),
    )
    task = asyncio.create_task(sched.run())
    if until is None:
        await asyncio.sleep(seconds)
    else:
        await asyncio.wait_for(enough.wait(), limit)
    sched.stop()
    await asyncio.wait_for(task, 5)
    return got, events, dict(sched.health()), registry


@pytest.mark.slow
@run_async
async def test_rtu_bus_on_a_pty_keeps_polling_past_faulty_and_missing_meters() -> None:
    meters = [
        MeterSpec(1, "eastron-sdm630"),
        MeterSpec(2, "dynaflox-ultrad"),
        MeterSpec(3, "eastron-sdm120", faults=Faults(crc_error=1.0)),
        MeterSpec(4, "eastron-sdm72d", faults=parse_faults("exception=4")),
        MeterSpec(5, "eastron-sdm120", faults=parse_faults("split")),
        MeterSpec(6, "dynaflox-ultrad", faults=parse_faults("garble=1")),
    ]
    async with ModbusRtuSimulator(meters, baud=19200) as sim:
        config = {
            "buses": [
                {
                    "kind": "modbus-rtu",
                    "name": "line1",
                    "port": sim.port,
                    "baud": 19200,
                    "parity": "N",
                    "period_s": 0.3,
                    "meters": [
                        {"id": "e1", "model": "eastron-sdm630", "unit_id": 1, "overrides": FAST},
                        {"id": "w2", "model": "dynaflox-ultrad", "unit_id": 2, "overrides": FAST},
                        {"id": "e3", "model": "eastron-sdm120", "unit_id": 3, "overrides": FAST},
                        {"id": "e4", "model": "eastron-sdm72d", "unit_id": 4, "overrides": FAST},
                        {"id": "e5", "model": "eastron-sdm120", "unit_id": 5, "overrides": FAST},
                        {"id": "w6", "model": "dynaflox-ultrad", "unit_id": 6, "overrides": FAST},
                        {"id": "gone9", "model": "eastron-sdm120", "unit_id": 9, "overrides": FAST},
                    ],
                }
            ]
        }
        got, events, health, registry = await _poll(config, 4.0)
    by_meter: dict[str, list[Reading]] = {}
    for r in got:
        by_meter.setdefault(r.meter_id, []).append(r)
    assert len(by_meter["e1"]) >= 15 * 3  # 15 values, >= 3 full reads
    assert {r.quantity for r in by_meter["e1"]} == set(sim.bus.meters[1].model.quantities)
    energy = [r.value for r in by_meter["e1"] if r.quantity == "energy_import"]
    assert energy == sorted(energy)
    assert {r.quantity for r in by_meter["w2"]} >= {"volume", "volume_flow"}
    assert "e3" not in by_meter
    assert "e4" not in by_meter
    assert "gone9" not in by_meter
    assert health["e1"].state == "ok"  # type: ignore[attr-defined]
    assert health["e3"].errors.keys() == {"crc"}  # type: ignore[attr-defined]
    assert health["e4"].errors == {"exception_code": health["e4"].reads}  # type: ignore[attr-defined]
    assert health["gone9"].state == "down"  # type: ignore[attr-defined]
    assert health["gone9"].reads == 3  # type: ignore[attr-defined]  # then backed off
    assert health["e5"].failures == 0  # type: ignore[attr-defined]  # split answers are fine
    w6 = health["w6"]
    assert w6.failures == w6.reads >= 1  # type: ignore[attr-defined]  # garbled: counted
    assert w6.errors.keys() <= {"crc", "protocol"}  # type: ignore[attr-defined]
    assert "w6" not in by_meter  # a garbled answer never becomes a reading
    assert {(e.device_id, e.state) for e in events} >= {("gone9", "down"), ("e3", "down")}
    assert (
        registry.get_sample_value(
            "m2c_poll_errors_total", {"bus": "line1", "device": "e4", "kind": "exception_code"}
        )
        == health["e4"].failures
    )  # type: ignore[attr-defined]


@run_async
async def test_tcp_meters_concurrently_with_rollover_flag_and_a_dead_host() -> None:
    meters = [MeterSpec(u, "eastron-sdm630") for u in range(1, 11)]
    meters.append(MeterSpec(11, "generic", faults=Faults(rollover=True), speed=60))
    async with ModbusTcpSimulator(meters, refresh_s=0.05) as sim:
        config = {
            "buses": [
                {
                    "kind": "modbus-tcp",
                    "name": "plant",
                    "port": sim.port,
                    "period_s": 0.2,
                    "concurrency": 4,
                    "meters": [
                        *(
                            {"id": f"t{u}", "model": "eastron-sdm630", "unit_id": u}
                            for u in range(1, 11)
                        ),
                        {"id": "roll", "model": "generic", "unit_id": 11},
                        {
                            "id": "nohost",
                            "model": "generic",
                            "unit_id": 1,
                            "port": 9,
                            "overrides": FAST,
                        },
                    ],
                }
            ]
        }

        def six_rounds_and_the_rollover(readings: list[Reading]) -> bool:
            counts = {f"t{u}": 0 for u in range(1, 11)}
            for r in readings:
                if r.meter_id in counts and r.quantity == "frequency":
                    counts[r.meter_id] += 1
            rolled = any(r.meter_id == "roll" and "overflow" in r.quality for r in readings)
            return min(counts.values()) >= 6 and rolled

        got, _events, health, _ = await _poll(config, 2.0, until=six_rounds_and_the_rollover)
    counts = {f"t{u}": 0 for u in range(1, 11)}
    for r in got:
        if r.meter_id in counts and r.quantity == "frequency":
            counts[r.meter_id] += 1
    assert min(counts.values()) >= 6
    roll = [r for r in got if r.meter_id == "roll" and r.quantity == "energy_import"]
    flagged = [r for r in roll if "overflow" in r.quality]
    assert len(flagged) == 1
    assert flagged[0].value < 1e3
    assert health["nohost"].errors.keys() == {"connection"}  # type: ignore[attr-defined]
    assert health["t1"].state == "ok"  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["modbus-rtu"])
def test_missing_serial_port_is_a_connection_error(kind: str) -> None:
    async def main() -> None:
        config = {
            "buses": [
                {
                    "kind": kind,
                    "name": "b",
                    "port": "/dev/does-not-exist",
                    "period_s": 0.1,
                    "meters": [{"id": "x", "model": "generic", "unit_id": 1, "overrides": FAST}],
                }
            ]
        }
        got, events, health, _ = await _poll(config, 0.5)
        assert got == []
        assert health["x"].errors.keys() == {"connection"}  # type: ignore[attr-defined]
        assert events[0].state == "degraded"

    asyncio.run(main())


@run_async
async def test_a_late_answer_on_the_line_is_not_taken_for_the_next_meters() -> None:
    meters = [
        MeterSpec(1, "eastron-sdm630"),
        MeterSpec(2, "dynaflox-ultrad", faults=parse_faults("late=0.25")),
    ]
    async with ModbusRtuSimulator(meters, baud=19200) as sim:
        config = {
            "buses": [
                {
                    "kind": "modbus-rtu",
                    "name": "line1",
                    "port": sim.port,
                    "baud": 19200,
                    "parity": "N",
                    "period_s": 0.1,
                    "meters": [
                        {"id": "e1", "model": "eastron-sdm630", "unit_id": 1, "overrides": FAST},
                        {"id": "w2", "model": "dynaflox-ultrad", "unit_id": 2, "overrides": FAST},
                    ],
                }
            ]
        }
        got, _events, health, _ = await _poll(config, 2.0)
    assert health["w2"].errors.keys() == {"timeout"}  # type: ignore[attr-defined]
    assert health["e1"].failures == 0, (health["e1"].errors, health["e1"].last_error)  # type: ignore[attr-defined]
    assert health["e1"].reads >= 3  # type: ignore[attr-defined]
    volts = [r.value for r in got if r.quantity == "voltage_l1"]
    assert all(220 < v < 240 for v in volts)


@run_async
async def test_a_frozen_meter_is_flagged_stale() -> None:
    from drivers.modbus.models import ModelCatalog
    from gateway.polling.modbus import ModbusDevice, ModbusLink

    meters = [
        MeterSpec(1, "eastron-sdm630", faults=Faults(stuck=True)),
        MeterSpec(2, "eastron-sdm630"),
    ]
    model = ModelCatalog().get("eastron-sdm630")
    async with ModbusTcpSimulator(meters, refresh_s=0.05) as sim:
        link = ModbusLink.tcp("127.0.0.1", sim.port)
        frozen = ModbusDevice("f1", model, 1, link, stale_after_s=0.3)
        alive = ModbusDevice("a2", model, 2, link, stale_after_s=0.3)
        flags: dict[str, list[bool]] = {"f1": [], "a2": []}
        try:
            for _ in range(8):
                for dev in (frozen, alive):
                    readings = await dev.read()
                    flags[dev.device_id].append(all("stale" in r.quality for r in readings))
                await asyncio.sleep(0.1)
        finally:
            await link.close()
    assert flags["f1"][:2] == [False, False]  # not yet: a meter updates about once a second
    assert flags["f1"][-3:] == [True, True, True]
    assert not any(flags["a2"])
