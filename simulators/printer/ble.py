"""The simulated printer as a BLE peripheral on the virtual air.

It hosts one of the GATT service/characteristic pairs real printers use (REFERENCE §2), a
notify characteristic for status answers, and advertises its name and service. Faults:
``rate_bps`` (a slow link: each write is acknowledged only after its bytes would have crossed
the air), ``disconnect_after`` (the write that crosses this many bytes is lost and the link
drops, once).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from bumble.core import UUID, AdvertisingData
from bumble.data_types import (
    CompleteListOf16BitServiceUUIDs,
    CompleteListOf128BitServiceUUIDs,
    CompleteLocalName,
)
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from simulators.ble.air import VirtualAir
from simulators.printer.machine import PrinterMachine

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class GattLayout:
    service: str
    write: str
    notify: str


LAYOUTS = {
    "18f0": GattLayout("18F0", "2AF1", "2AF0"),
    "isc": GattLayout(
        "49535343-FE7D-4AE5-8FA9-9FAFD205E455",
        "49535343-8841-43F4-A8D4-ECBE34729BB3",
        "49535343-1E4D-4BD9-BA61-23C647249616",
    ),
    "ff00": GattLayout("FF00", "FF02", "FF01"),
}


class BlePrinterSim:
    def __init__(
        self,
        air: VirtualAir,
        machine: PrinterMachine,
        *,
        name: str = "MPT-II",
        layout: str = "18f0",
        with_response: bool = True,
        without_response: bool = True,
        notify: bool = True,
        rate_bps: float | None = None,
        idle_flush_s: float | None = None,
    ) -> None:
        self.air = air
        self.machine = machine
        self.name = name
        self.layout = LAYOUTS[layout]
        self.rate_bps = rate_bps
        self.idle_flush_s = idle_flush_s
        self.disconnect_after: int | None = None
        self.writes = 0
        self.disconnects = 0
        props = Characteristic.Properties(0)
        if with_response:
            props |= Characteristic.Properties.WRITE
        if without_response:
            props |= Characteristic.Properties.WRITE_WITHOUT_RESPONSE
        self._write_char: Characteristic[bytes] = Characteristic(
            self.layout.write,
            props,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_write),
        )
        self._notify_char: Characteristic[bytes] = Characteristic(
            self.layout.notify,
            Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            b"",
        )
        self.device: Device = air.new_device(name)
        chars = [self._write_char, self._notify_char] if notify else [self._write_char]
        self.device.add_service(Service(self.layout.service, chars))
        self._idle: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self._dropping: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return str(self.device.random_address)

    def _advertising_data(self) -> bytes:
        uuid = UUID(self.layout.service)
        listed = (
            CompleteListOf16BitServiceUUIDs([uuid])
            if len(uuid.uuid_bytes) == 2
            else CompleteListOf128BitServiceUUIDs([uuid])
        )
        return bytes(AdvertisingData([CompleteLocalName(self.name), listed]))

    async def start(self) -> str:
        """Power on and advertise; returns the address centrals connect to."""
        await self.device.power_on()
        self.air.register(self.device)
        await self.device.start_advertising(
            advertising_data=self._advertising_data(),
            auto_restart=True,
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        return self.address

    async def stop(self) -> None:
        for connection in list(self.device.connections.values()):
            await connection.disconnect()
        await self.device.stop_advertising()
        await self.device.power_off()

    async def drop_link(self) -> None:
        """Disconnect every central now (a printer switched off or out of range)."""
        self.disconnects += 1
        for connection in list(self.device.connections.values()):
            await connection.disconnect()

    async def _on_write(self, connection: Connection, value: bytes) -> None:
        if connection in self._dropping:
            return  # arrives while this link is going down: lost
        async with self._lock:
            lost = self.disconnect_after is not None and len(value) > self.disconnect_after
            if lost:
                self.disconnect_after = None
            elif self.disconnect_after is not None:
                self.disconnect_after -= len(value)
            if not lost:
                if self.rate_bps:
                    await asyncio.sleep(len(value) / self.rate_bps)
                self.writes += 1
                reply = self.machine.receive(bytes(value))
                if reply:
                    await self.device.notify_subscribers(self._notify_char, reply)
                self._arm_idle()
                return
        # The link drops before this write is acknowledged: its bytes never reach the paper.
        log.info("printer_sim.ble_drop", address=self.address)
        self._dropping.add(connection)
        task = asyncio.get_running_loop().create_task(self._drop_soon(connection))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.wait({task})  # no acknowledgement goes out before the link is down

    async def _drop_soon(self, connection: Connection) -> None:
        self.disconnects += 1
        try:
            await connection.disconnect()
        finally:
            self._dropping.discard(connection)

    def _arm_idle(self) -> None:
        if self.idle_flush_s is None:
            return
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(
            self.idle_flush_s, self.machine.link_closed
        )
