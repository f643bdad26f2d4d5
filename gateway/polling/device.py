"""What a bus scheduler polls: one meter behind one protocol, whatever the protocol.

A device is built with the bus's shared transport (a serial port or a TCP connection). The
scheduler guarantees that on a serial bus only one device reads at a time, and that the bus stays
quiet for ``silence_s`` after each transaction with that device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from contract.mqtt import Reading


class DeviceError(Exception):
    """A device did not answer usefully. ``kind`` is a short, countable reason."""

    def __init__(
        self, device_id: str, kind: str, detail: str = "", *, code: int | None = None
    ) -> None:
        self.device_id = device_id
        self.kind = kind  # e.g. "timeout", "crc", "exception_code", "garbled", "protocol"
        self.detail = detail
        self.code = code  # the Modbus exception code of an "exception_code"
        super().__init__(f"{device_id}: {kind}{': ' + detail if detail else ''}")


class PolledDevice(Protocol):
    """One meter. ``read()`` returns its readings or raises :class:`DeviceError`."""

    @property
    def device_id(self) -> str: ...

    @property
    def silence_s(self) -> float:
        """Idle time the bus must keep after a transaction with this device."""
        ...

    @property
    def timeout_s(self) -> float:
        """How long one read may take before it counts as no answer."""
        ...

    async def read(self) -> Sequence[Reading]: ...
