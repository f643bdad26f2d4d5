"""The gateway daemon: pollers write to the outbox, the uplink drains it to the broker."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence

import structlog

from contract.mqtt import Reading
from gateway.outbox import Outbox
from gateway.polling.device import DeviceError, PolledDevice
from gateway.polling.sdm_tcp import Sdm630TcpDevice
from gateway.settings import GatewaySettings
from gateway.uplink import Uplink

log = structlog.get_logger(__name__)


class Gateway:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.outbox = Outbox(settings.outbox.path, max_batch=settings.outbox.max_batch)
        self.uplink = Uplink(settings.mqtt, settings.gateway_id, self.outbox)
        self.devices: list[tuple[PolledDevice, float]] = [
            (Sdm630TcpDevice(m.id, m.host, m.port, m.unit_id), m.period_s) for m in settings.meters
        ]
        self.stop_event = asyncio.Event()
        self.produced = 0

    async def _poll(self, device: PolledDevice, period_s: float) -> None:
        logger = log.bind(meter=device.device_id)
        failing = False
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self.stop_event.is_set():
            try:
                readings: Sequence[Reading] = await asyncio.wait_for(
                    device.read(), device.timeout_s * 2
                )
            except (DeviceError, TimeoutError) as exc:
                if not failing:
                    logger.warning("meter not answering", error=str(exc))
                failing = True
            else:
                if failing:
                    logger.info("meter answering again")
                failing = False
                await asyncio.to_thread(self.outbox.put, readings)
                self.produced += len(readings)
            next_at += period_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), max(0.0, next_at - loop.time()))

    async def run(self) -> None:
        self.uplink.start()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.uplink.run(self.stop_event))
                for device, period in self.devices:
                    tasks.create_task(self._poll(device, period))
        finally:
            self.uplink.stop()
            self.outbox.close()

    def stop(self) -> None:
        self.stop_event.set()


async def serve(settings: GatewaySettings) -> None:
    """Run until SIGINT or SIGTERM."""
    gateway = Gateway(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, gateway.stop)
    log.info("gateway starting", gateway_id=settings.gateway_id, meters=len(gateway.devices))
    await gateway.run()
