"""Schedulers from configuration: one per bus, with its devices and shared transports."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from drivers.modbus.models import MeterOverrides, ModelCatalog, ModelError, apply_overrides
from drivers.modbus.planner import Cost, PlanError
from drivers.modbus.types import MeterModel
from gateway.polling.config import Bus, ModbusRtuBus, ModbusTcpBus
from gateway.polling.health import Backoff
from gateway.polling.modbus import ModbusDevice, ModbusLink
from gateway.polling.scheduler import BusScheduler, OnEvent, Sink


class PollingConfigError(Exception):
    """A bus or meter cannot be built; the message names the bus, the meter and the reason."""


def _wall() -> datetime:
    return datetime.now(UTC)


def _model(catalog: ModelCatalog, where: str, name: str, overrides: MeterOverrides) -> MeterModel:
    try:
        return apply_overrides(catalog.get(name), overrides, where=f"{where} overrides")
    except ModelError as exc:
        raise PollingConfigError(f"{where}: {exc}") from exc


def _device(
    where: str,
    meter_id: str,
    model: MeterModel,
    unit_id: int,
    link: ModbusLink,
    cost: Cost,
    sleep: Callable[[float], Awaitable[None]],
    wall: Callable[[], datetime],
) -> ModbusDevice:
    try:
        return ModbusDevice(meter_id, model, unit_id, link, cost=cost, wall=wall, sleep=sleep)
    except PlanError as exc:
        raise PollingConfigError(f"{where}: {exc}") from exc


def _rtu_devices(
    bus: ModbusRtuBus,
    catalog: ModelCatalog,
    sleep: Callable[[float], Awaitable[None]],
    wall: Callable[[], datetime],
) -> tuple[list[ModbusDevice], list[ModbusLink]]:
    models = [
        (m, _model(catalog, f"bus '{bus.name}' meter '{m.id}'", m.model, m.overrides))
        for m in bus.meters
    ]
    # The client's own timeout only backs up each device's; the device's is the one that counts.
    link = ModbusLink.serial(
        bus.port,
        baud=bus.baud,
        parity=bus.parity,
        stopbits=bus.stopbits,
        bytesize=bus.bytesize,
        timeout_s=max(model.limits.timeout_s for _, model in models) + 1.0,
    )
    devices = [
        _device(
            f"bus '{bus.name}' meter '{m.id}'",
            m.id,
            model,
            m.unit_id,
            link,
            Cost.rtu(
                baud=bus.baud, silence_s=model.limits.silence_s, bits_per_char=bus.bits_per_char
            ),
            sleep,
            wall,
        )
        for m, model in models
    ]
    return devices, [link]


def _tcp_devices(
    bus: ModbusTcpBus,
    catalog: ModelCatalog,
    sleep: Callable[[float], Awaitable[None]],
    wall: Callable[[], datetime],
) -> tuple[list[ModbusDevice], list[ModbusLink]]:
    links: dict[tuple[str, int], ModbusLink] = {}
    devices = []
    for m in bus.meters:
        where = f"bus '{bus.name}' meter '{m.id}'"
        model = _model(catalog, where, m.model, m.overrides)
        key = (m.host or bus.host, m.port or bus.port)
        if key not in links:
            links[key] = ModbusLink.tcp(key[0], key[1], timeout_s=model.limits.timeout_s + 1.0)
        devices.append(_device(where, m.id, model, m.unit_id, links[key], Cost.tcp(), sleep, wall))
    return devices, list(links.values())


def build_schedulers(
    buses: Sequence[Bus],
    *,
    sink: Sink,
    on_event: OnEvent,
    registry: CollectorRegistry,
    catalog: ModelCatalog | None = None,
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    wall: Callable[[], datetime] = _wall,
    rng: random.Random | None = None,
) -> list[BusScheduler]:
    """One scheduler per enabled bus. Raises :class:`PollingConfigError` naming what is wrong."""
    catalog = catalog or ModelCatalog()
    out: list[BusScheduler] = []
    for bus in buses:
        if not bus.enabled:
            continue
        if isinstance(bus, ModbusRtuBus):
            devices, links = _rtu_devices(bus, catalog, sleep, wall)
        else:
            devices, links = _tcp_devices(bus, catalog, sleep, wall)

        async def close(links: list[ModbusLink] = links) -> None:
            for link in links:
                await link.close()

        out.append(
            BusScheduler(
                bus.name,
                devices,
                period_s=bus.period_s,
                sink=sink,
                on_event=on_event,
                registry=registry,
                exclusive=isinstance(bus, ModbusRtuBus),
                concurrency=bus.concurrency if isinstance(bus, ModbusTcpBus) else 1,
                jitter=bus.jitter,
                backoff=backoff,
                clock=clock,
                sleep=sleep,
                wall=wall,
                rng=rng,
                on_close=close,
            )
        )
    return out
