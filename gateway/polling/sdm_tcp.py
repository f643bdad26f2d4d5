"""The walking skeleton's poller: an SDM630 on Modbus TCP, read in one block of 76 registers."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from contract.mqtt import Reading
from gateway.polling.device import DeviceError

QUANTITIES = {  # address -> (quantity, unit)
    0x0000: ("voltage_l1", "V"),
    0x0002: ("voltage_l2", "V"),
    0x0004: ("voltage_l3", "V"),
    0x0034: ("power_active_total", "W"),
    0x0046: ("frequency", "Hz"),
    0x0048: ("energy_import", "kWh"),
    0x004A: ("energy_export", "kWh"),
}
SPAN = 0x004C


class Sdm630TcpDevice:
    def __init__(
        self, meter_id: str, host: str, port: int, unit_id: int, *, timeout_s: float = 1.0
    ) -> None:
        self._id = meter_id
        self.unit_id = unit_id
        self._timeout = timeout_s
        self.client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=0)

    @property
    def device_id(self) -> str:
        return self._id

    @property
    def silence_s(self) -> float:
        return 0.0

    @property
    def timeout_s(self) -> float:
        return self._timeout

    async def read(self) -> Sequence[Reading]:
        try:
            if not self.client.connected:
                await self.client.connect()
            rsp = await self.client.read_input_registers(0, count=SPAN, device_id=self.unit_id)
        except ModbusException as exc:
            raise DeviceError(self._id, "timeout", str(exc)) from exc
        if rsp.isError():
            raise DeviceError(self._id, "exception_code", str(rsp))
        ts = datetime.now(UTC)
        regs = rsp.registers
        out = []
        for addr, (quantity, unit) in QUANTITIES.items():
            (value,) = struct.unpack(">f", struct.pack(">HH", regs[addr], regs[addr + 1]))
            out.append(
                Reading(
                    meter_id=self._id,
                    quantity=quantity,
                    value=round(value, 4),
                    unit=unit,
                    ts=ts,
                    quality=("time_from_gateway",),
                )
            )
        return out

    def close(self) -> None:
        self.client.close()
