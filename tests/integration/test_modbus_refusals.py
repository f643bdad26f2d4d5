"""Meters that refuse, and answers that lie about their id, over real sockets.

A meter whose document lists only some registers refuses (exception 02) a block that spans the
others. A gateway whose model does not know that plans such a block; it must cut the block into
the documented ones, keep reading the meter, remember the cut and say so once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import structlog.testing
from prometheus_client import CollectorRegistry

from contract.mqtt import Reading
from drivers.modbus.models import ModelCatalog, parse_model
from drivers.modbus.planner import Cost, Request, plan
from drivers.modbus.types import MeterModel, Span
from gateway.polling.config import PollingConfig
from gateway.polling.factory import build_schedulers
from simulators.modbus.faults import parse_faults
from simulators.modbus.meter import MeterSpec
from simulators.modbus.tcp import ModbusTcpSimulator
from tests.support.aio import run_async

MODEL = """
[model]
name = "gappy"
max_registers = 40

[defaults]
fc = 3
type = "u32"

[[registers]]
quantity = "volume"
address = 0
unit = "m3"

[[registers]]
quantity = "volume_flow"
address = 4
unit = "m3/h"

[[registers]]
quantity = "run_time"
address = 10
unit = "s"
"""
# what the meter's document lists: 0-1, 4-5 and 10-11; registers 2, 3 and 6-9 are refused
DOCUMENTED = (Span(3, 0, 1), Span(3, 4, 5), Span(3, 10, 11))


def refusing(model: MeterModel) -> MeterModel:
    return dataclasses.replace(model, documented=DOCUMENTED, undocumented="exception")


def test_the_planner_reads_gaps_only_through_documented_registers(tmp_path: Path) -> None:
    import tomllib

    model = parse_model(tomllib.loads(MODEL))
    assert plan(model.registers, model.limits, Cost.tcp()) == (Request(3, 0, 12),)
    meter = refusing(model)
    assert plan(meter.registers, meter.limits, Cost.tcp(), meter.is_documented) == (
        Request(3, 0, 2),
        Request(3, 4, 2),
        Request(3, 10, 2),
    )


@run_async
async def test_a_refused_block_is_cut_into_documented_blocks_remembered_and_reported(
    tmp_path: Path,
) -> None:
    (tmp_path / "gappy.toml").write_text(MODEL)
    catalog = ModelCatalog([tmp_path])
    got: list[Reading] = []
    reads = asyncio.Event()

    async def sink(readings: Sequence[Reading]) -> None:
        got.extend(readings)
        if len(got) >= 3 * 5:
            reads.set()

    meter = MeterSpec(1, refusing(catalog.get("gappy")))
    registry = CollectorRegistry()
    async with ModbusTcpSimulator([meter]) as sim:
        cfg = PollingConfig.model_validate(
            {
                "buses": [
                    {
                        "kind": "modbus-tcp",
                        "name": "site",
                        "port": sim.port,
                        "period_s": 0.01,
                        "jitter": 0,
                        "meters": [{"id": "w1", "model": "gappy", "unit_id": 1}],
                    }
                ]
            }
        )
        (sched,) = build_schedulers(
            cfg.buses, sink=sink, on_event=lambda e: None, registry=registry, catalog=catalog
        )
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(sched.run())
            try:
                await asyncio.wait_for(reads.wait(), 20)
            finally:
                sched.stop()
                await asyncio.wait_for(task, 5)
        served = sim.bus.meters[1].requests

    health = sched.health()["w1"]
    assert health.failures == 0, health.errors  # the refusal cost no read
    assert {r.quantity for r in got} == {"volume", "volume_flow", "run_time"}
    (device,) = sched.devices
    assert device.requests == (Request(3, 0, 2), Request(3, 4, 2), Request(3, 10, 2))  # type: ignore[attr-defined]
    assert device.splits == [(Request(3, 0, 12), device.requests)]  # type: ignore[attr-defined]
    # refused once, then three documented blocks a read (the read stopped may have begun)
    assert 0 <= served - (1 + 3 * health.reads) <= 2
    assert (
        registry.get_sample_value("m2c_modbus_block_splits_total", {"bus": "site", "device": "w1"})
        == 1
    )
    splits = [e for e in logs if e["event"].startswith("meter refused a block")]
    assert len(splits) == 1
    assert splits[0]["refused"] == "FC03 0x0000+12"


def _stray(registry: CollectorRegistry, port: int, reason: str) -> float:
    labels = {"bus": "plant", "link": f"127.0.0.1:{port}", "reason": reason}
    return registry.get_sample_value("m2c_modbus_tcp_stray_frames_total", labels) or 0.0


@run_async
async def test_a_wrong_transaction_id_is_reported_as_such_and_stray_frames_are_exported() -> None:
    # e1 answers with the wrong id, e3 beside it is healthy; e2 (its own gateway) answers late
    wrong = [
        MeterSpec(1, "eastron-sdm630", faults=parse_faults("wrong_tid=1")),
        MeterSpec(3, "eastron-sdm630"),
    ]
    late = [MeterSpec(2, "eastron-sdm630", faults=parse_faults("late=0.4"))]
    registry = CollectorRegistry()
    enough = asyncio.Event()

    async with ModbusTcpSimulator(wrong) as sim, ModbusTcpSimulator(late) as slow:
        meters = [
            {"id": f"e{u}", "model": "eastron-sdm630", "unit_id": u}
            | ({"port": slow.port} if u == 2 else {})
            | {"overrides": {"timeout_ms": 200 if u == 2 else 3000}}
            for u in (1, 2, 3)
        ]
        cfg = PollingConfig.model_validate(
            {
                "buses": [
                    {
                        "kind": "modbus-tcp",
                        "name": "plant",
                        "port": sim.port,
                        "period_s": 0.05,
                        "jitter": 0,
                        "meters": meters,
                    }
                ]
            }
        )

        def check() -> None:
            h = sched.health()
            if (
                "wrong_transaction" in h["e1"].errors
                and _stray(registry, slow.port, "late") >= 1
                and h["e3"].reads >= 5
            ):
                enough.set()

        async def sink(readings: Sequence[Reading]) -> None:
            check()

        (sched,) = build_schedulers(
            cfg.buses, sink=sink, on_event=lambda e: check(), registry=registry
        )
        task = asyncio.create_task(sched.run())
        try:
            await asyncio.wait_for(enough.wait(), 20)
        finally:
            sched.stop()
            await asyncio.wait_for(task, 5)

    health = sched.health()
    e1 = health["e1"]
    assert set(e1.errors) == {"wrong_transaction"}  # never "no answer": it answered, misnumbered
    assert "answered with transaction id" in e1.last_error
    assert health["e3"].failures == 0
    assert health["e2"].errors.get("timeout", 0) >= 1
    assert _stray(registry, sim.port, "unknown_id") >= 1
    assert _stray(registry, slow.port, "late") >= 1


async def _drop(readings: Sequence[Reading]) -> None:
    return None


@run_async
async def test_pymodbus_sees_the_simulated_meters_refuse_as_their_models_say() -> None:
    """An independent client: the ultraD refuses past register 17 (02) and over 22 (03)."""
    from pymodbus.client import AsyncModbusTcpClient

    async with ModbusTcpSimulator([MeterSpec(7, "dynaflox-ultrad")]) as sim:
        client = AsyncModbusTcpClient("127.0.0.1", port=sim.port, timeout=3, retries=0)
        await client.connect()
        try:
            whole = await client.read_holding_registers(0, count=18, device_id=7)
            past = await client.read_holding_registers(16, count=4, device_id=7)
            long = await client.read_holding_registers(0, count=23, device_id=7)
        finally:
            client.close()
    assert not whole.isError()
    assert len(whole.registers) == 18
    assert past.isError()
    assert past.exception_code == 2
    assert long.isError()
    assert long.exception_code == 3
