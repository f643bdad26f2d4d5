"""A bleak backend over the virtual air: unchanged bleak code talks to simulated printers.

``client_backend(air)`` and ``scanner_backend(air)`` return backend classes bound to one
:class:`~simulators.ble.air.VirtualAir`; pass them as ``BleakClient(..., backend=...)`` and
``BleakScanner(..., backend=...)``. Each client brings its own bumble central device.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bumble.core import UUID as BumbleUUID
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.hci import Address

from simulators.ble.air import VirtualAir

REQUESTED_MTU = 247


def bleak_uuid(value: BumbleUUID) -> str:
    return str(uuid.UUID(bytes=value.to_bytes(force_128=True)[::-1]))


def _properties(flags: int) -> list[Any]:
    names = []
    for flag, name in (
        (Characteristic.Properties.READ, "read"),
        (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
        (Characteristic.Properties.WRITE, "write"),
        (Characteristic.Properties.NOTIFY, "notify"),
        (Characteristic.Properties.INDICATE, "indicate"),
    ):
        if flags & flag:
            names.append(name)
    return names


class BumbleClientBackend(BaseBleakClient):
    air: VirtualAir  # set by client_backend()
    requested_mtu = REQUESTED_MTU

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._device: Device | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._lost = asyncio.Event()

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._device is None:
            self._device = self.air.new_device(f"central-{id(self):x}")
            await self._device.power_on()
        if self.address not in self.air.devices:
            raise BleakError(f"device {self.address} not found on the virtual air")
        try:
            async with asyncio.timeout(self._timeout):
                connection = await self._device.connect(Address(self.address))
        except TimeoutError as exc:
            raise BleakError(f"connect to {self.address} timed out") from exc
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._lost = asyncio.Event()
        self._connection = connection
        self._peer = Peer(connection)
        await self._peer.request_mtu(self.requested_mtu)
        await self._discover()

    def _on_disconnection(self, reason: int) -> None:
        was = self._connection is not None
        self._lost.set()
        self._connection = None
        self._peer = None
        if was and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def _discover(self) -> None:
        assert self._peer is not None
        collection = BleakGATTServiceCollection()
        for service in await self._peer.discover_services():
            bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            for char in await self._peer.discover_characteristics(service=service):
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    bleak_uuid(char.uuid),
                    _properties(int(char.properties)),
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for desc in await self._peer.discover_descriptors(char):
                    bleak_desc = BleakGATTDescriptor(
                        desc, desc.handle, bleak_uuid(desc.type), bleak_char
                    )
                    collection.add_descriptor(bleak_desc)
        self.services = collection

    async def disconnect(self) -> None:
        connection, self._connection, self._peer = self._connection, None, None
        if connection is not None:
            await connection.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the virtual printer needs no pairing")

    async def unpair(self) -> None:
        raise NotImplementedError("the virtual printer needs no pairing")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._require_peer().read_value(characteristic.obj))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._require_peer().read_value(descriptor.obj))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        # Like BlueZ, a write pending when the link drops fails at once.
        peer = self._require_peer()
        write = asyncio.ensure_future(
            peer.write_value(characteristic.obj, bytes(data), with_response=response)
        )
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({write, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not write.done() or write.cancelled():
            write.cancel()
            raise BleakError("disconnected during write")
        exc = write.exception()
        if exc is not None:
            raise BleakError(f"write failed: {exc!r}") from exc

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        await self._require_peer().write_value(descriptor.obj, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        await self._require_peer().subscribe(
            characteristic.obj, lambda value: callback(bytearray(value))
        )

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        await self._require_peer().unsubscribe(characteristic.obj)


class BumbleScannerBackend(BaseBleakScanner):
    air: VirtualAir  # set by scanner_backend()

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._device: Device | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        if self._device is None:
            self._device = self.air.new_device(f"scanner-{id(self):x}")
            await self._device.power_on()
            self._device.on(self._device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self._device.start_scanning(filter_duplicates=False)

    async def stop(self) -> None:
        if self._device is not None:
            await self._device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement.data
        uuids: list[str] = []
        for kind in (
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        ):
            for value in data.get_all(kind):
                items = value if isinstance(value, list) else [value]
                uuids.extend(bleak_uuid(u) for u in items)
        if not self.is_allowed_uuid(uuids):
            return
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME)
        local_name = name if isinstance(name, str) else None
        address = str(advertisement.address)
        adv = AdvertisementData(
            local_name=local_name,
            manufacturer_data={},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=advertisement.rssi,
            platform_data=(advertisement,),
        )
        device = self.create_or_update_device(address, address, local_name, advertisement, adv)
        self.call_detection_callbacks(device, adv)


def client_backend(air: VirtualAir, *, mtu: int = REQUESTED_MTU) -> type[BumbleClientBackend]:
    """A client backend class on ``air`` that asks for ``mtu`` (23 is BlueZ's usual)."""
    return type("BumbleClientBackend", (BumbleClientBackend,), {"air": air, "requested_mtu": mtu})


def scanner_backend(air: VirtualAir) -> type[BumbleScannerBackend]:
    return type("BumbleScannerBackend", (BumbleScannerBackend,), {"air": air})
