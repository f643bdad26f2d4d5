"""A virtual radio: bumble controllers joined by one in-process ``LocalLink``.

Every device made here (a simulated printer, a bleak central) gets its own bumble controller
and host on the same link, so they scan, connect, exchange MTUs and write GATT values exactly
as over the air — with no adapter, no BlueZ and no root.
"""

from __future__ import annotations

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink


class VirtualAir:
    def __init__(self) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self._count = 0
        self.devices: dict[str, Device] = {}  # address string → the peripheral device

    def new_device(self, name: str, address: str | None = None) -> Device:
        """A powered-off bumble device on this air (call ``await device.power_on()``)."""
        self._count += 1
        addr = address or f"F0:00:00:00:{self._count >> 8:02X}:{self._count & 0xFF:02X}"
        controller = Controller(f"ctl-{name}", link=self.link, public_address=addr)
        return Device(
            name=name, address=Address(addr), host=Host(controller, AsyncPipeSink(controller))
        )

    def register(self, device: Device) -> None:
        """Make ``device`` findable by address (what advertising makes known)."""
        self.devices[str(device.random_address)] = device
