"""Schedulers from configuration: one per bus, with its devices and shared transports."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from drivers.modbus.models import MeterOverrides, ModelCatalog, ModelError, apply_overrides
from drivers.modbus.planner import Cost, PlanError, Request
from drivers.modbus.types import MeterModel
from gateway.polling.config import Bus, ModbusRtuBus, ModbusTcpBus, bus_name
from gateway.polling.device import PolledDevice
from gateway.polling.health import Backoff, DeviceHealth
from gateway.polling.modbus import ModbusDevice, ModbusLink
from gateway.polling.modbus_metrics import ModbusMetrics
from gateway.polling.scheduler import BusScheduler, OnEvent, Sink
from gateway.polling.serialbus import IecBusConfig, MbusBusConfig, build_iec_bus, build_mbus_bus


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
    ctx: BuildContext,
    bus: str,
    silence_s: float | None = None,
) -> ModbusDevice:
    splits = ModbusMetrics.for_registry(ctx.registry).block_splits

    def on_split(dev: ModbusDevice, refused: Request, parts: tuple[Request, ...]) -> None:
        splits.labels(bus=bus, device=dev.device_id).inc()

    try:
        return ModbusDevice(
            meter_id,
            model,
            unit_id,
            link,
            cost=cost,
            silence_s=silence_s,
            wall=ctx.wall,
            sleep=ctx.sleep,
            on_split=on_split,
        )
    except PlanError as exc:
        raise PollingConfigError(f"{where}: {exc}") from exc


@dataclass(frozen=True)
class BuildContext:
    """What every bus builder may use."""

    catalog: ModelCatalog
    sleep: Callable[[float], Awaitable[None]]
    wall: Callable[[], datetime]
    registry: CollectorRegistry


@dataclass(frozen=True)
class BusParts:
    """A bus, built: its devices, how to close its transports, and how it is polled."""

    name: str
    devices: Sequence[PolledDevice]
    close: Callable[[], Awaitable[None]]
    exclusive: bool  # one request at a time (a serial line)
    period_s: float
    periods: Mapping[str, float] | None = None  # per device, where they differ
    jitter: float = 0.05
    concurrency: int = 1


def _closer(links: Sequence[ModbusLink]) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        for link in links:
            await link.close()

    return close


def _build_modbus_rtu(bus: ModbusRtuBus, ctx: BuildContext) -> BusParts:
    models = [
        (m, _model(ctx.catalog, f"bus '{bus.name}' meter '{m.id}'", m.model, m.overrides))
        for m in bus.meters
    ]
    link = ModbusLink.serial(
        bus.port, baud=bus.baud, parity=bus.parity, stopbits=bus.stopbits, bytesize=bus.bytesize
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
            ctx,
            bus.name,
        )
        for m, model in models
    ]
    return BusParts(
        bus.name,
        devices,
        _closer([link]),
        exclusive=True,
        period_s=bus.period_s,
        jitter=bus.jitter,
    )


def _build_modbus_tcp(bus: ModbusTcpBus, ctx: BuildContext) -> BusParts:
    links: dict[tuple[str, int], ModbusLink] = {}
    devices = []
    for m in bus.meters:
        where = f"bus '{bus.name}' meter '{m.id}'"
        model = _model(ctx.catalog, where, m.model, m.overrides)
        key = (m.host or bus.host, m.port or bus.port)
        if key not in links:
            link = links[key] = ModbusLink.tcp(
                key[0],
                key[1],
                connect_timeout_s=model.limits.timeout_s + 1.0,
                one_at_a_time=bus.serial_gateway,
            )
            ModbusMetrics.for_registry(ctx.registry).watch(bus.name, link.client)
        # A meter's silence is a serial line's: kept behind a serial gateway, or when asked for.
        keep = bus.serial_gateway or m.overrides.silence_ms is not None
        silence = None if keep else 0.0
        devices.append(
            _device(where, m.id, model, m.unit_id, links[key], Cost.tcp(), ctx, bus.name, silence)
        )
    return BusParts(
        bus.name,
        devices,
        _closer(list(links.values())),
        exclusive=False,
        period_s=bus.period_s,
        jitter=bus.jitter,
        concurrency=bus.concurrency,
    )


def _build_serial_meters(bus: IecBusConfig | MbusBusConfig, _ctx: BuildContext) -> BusParts:
    port, devices = build_iec_bus(bus) if isinstance(bus, IecBusConfig) else build_mbus_bus(bus)
    periods = {m.id: m.period_s for m in bus.meters}

    async def close() -> None:
        port.close()

    return BusParts(
        bus_name(bus),
        devices,
        close,
        exclusive=True,
        period_s=min(periods.values()),
        periods=periods,
    )


# One builder per bus kind: another protocol adds its kind to config.Bus and a builder here
# that returns its devices (anything with the PolledDevice interface) as BusParts.
BUILDERS: dict[str, Callable[[Any, BuildContext], BusParts]] = {
    "modbus-rtu": _build_modbus_rtu,
    "modbus-tcp": _build_modbus_tcp,
    "iec62056-21": _build_serial_meters,
    "mbus": _build_serial_meters,
}


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
    records: Mapping[str, DeviceHealth] | None = None,
) -> list[BusScheduler]:
    """One scheduler per enabled bus. Raises :class:`PollingConfigError` naming what is wrong.

    ``records``: device health records (by device id) of the schedulers these replace.
    """
    ctx = BuildContext(catalog or ModelCatalog(), sleep, wall, registry)
    out: list[BusScheduler] = []
    for bus in buses:
        if not getattr(bus, "enabled", True):
            continue
        builder = BUILDERS.get(bus.kind)
        if builder is None:
            raise PollingConfigError(f"bus '{bus_name(bus)}': no builder for kind '{bus.kind}'")
        parts = builder(bus, ctx)
        out.append(
            BusScheduler(
                parts.name,
                parts.devices,
                period_s=parts.period_s,
                periods=parts.periods,
                sink=sink,
                on_event=on_event,
                registry=registry,
                exclusive=parts.exclusive,
                concurrency=parts.concurrency,
                jitter=parts.jitter,
                backoff=backoff,
                clock=clock,
                sleep=sleep,
                wall=wall,
                rng=rng,
                records=records,
                on_close=parts.close,
            )
        )
    return out
