"""A Modbus meter behind the :class:`~gateway.polling.device.PolledDevice` interface.

The device plans its requests once (:mod:`drivers.modbus.planner`), reads them through a
pymodbus async client shared by the devices of its bus (:class:`ModbusLink`), keeps the
meter's silence between its own requests and decodes the words with the meter model. Modbus
meters have no clock: a reading's timestamp is the time of the read, flagged
``time_from_gateway``. A counter that went down by more than half its range since the last read
rolled over at its digit count: that reading is flagged ``overflow``. A meter whose every value
(voltages and frequency included, which always jitter) stayed bit-for-bit the same for
``stale_after_s`` is frozen: its readings are flagged ``stale``.
"""

from __future__ import annotations

import asyncio
import termios
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from contract.mqtt import QualityFlag, Reading
from drivers.modbus.decode import BlockDecoder
from drivers.modbus.planner import Cost, Request, plan
from drivers.modbus.types import MeterModel
from gateway.polling.device import DeviceError


def _wall() -> datetime:
    return datetime.now(UTC)


class ModbusLink:
    """One pymodbus client (a serial port, or a TCP connection) shared by many devices.

    pymodbus clients need a running event loop, so the client is made on first use.
    """

    def __init__(
        self, make_client: Callable[[], Any], *, name: str, late_guard_s: float = 0.0
    ) -> None:
        self._make = make_client
        self._client: Any = None
        self.name = name
        # After a timeout on a serial line, a late answer may still come. pymodbus's RTU
        # framer takes one frame per chunk read, so a late answer arriving together with the
        # next meter's would cost that meter its read: the line is left quiet this long first.
        self.late_guard_s = late_guard_s
        self.unsettled = False

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._make()
        return self._client

    @classmethod
    def serial(
        cls,
        port: str,
        *,
        baud: int = 9600,
        parity: str = "E",
        stopbits: int = 1,
        bytesize: int = 8,
        timeout_s: float = 1.0,
        late_guard_s: float = 0.1,
    ) -> ModbusLink:
        def make() -> Any:
            return AsyncModbusSerialClient(
                port,
                baudrate=baud,
                parity=parity,
                stopbits=stopbits,
                bytesize=bytesize,
                timeout=timeout_s,
                retries=0,
                reconnect_delay=0,  # we reconnect ourselves, on the next read
            )

        return cls(make, name=port, late_guard_s=late_guard_s)

    @classmethod
    def tcp(cls, host: str, port: int = 502, *, timeout_s: float = 1.0) -> ModbusLink:
        def make() -> Any:
            return AsyncModbusTcpClient(
                host, port=port, timeout=timeout_s, retries=0, reconnect_delay=0
            )

        return cls(make, name=f"{host}:{port}")

    async def ensure(self, device_id: str) -> None:
        client = self.client
        if client.connected:
            return
        try:
            ok = await client.connect()
        except (OSError, ModbusException, termios.error) as exc:
            # termios.error: the port refuses its settings (a pty refuses parity, for one)
            raise DeviceError(device_id, "connection", f"{self.name}: {exc}") from exc
        if not ok:
            raise DeviceError(device_id, "connection", f"cannot open {self.name}")

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class ModbusDevice:
    """One meter: ``model`` (with its overrides applied) at ``unit_id`` on ``link``."""

    def __init__(
        self,
        device_id: str,
        model: MeterModel,
        unit_id: int,
        link: ModbusLink,
        *,
        cost: Cost | None = None,
        requests: Sequence[Request] | None = None,
        stale_after_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _wall,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._id = device_id
        self.model = model
        self.unit_id = unit_id
        self.link = link
        self._wall = wall
        self._sleep = sleep
        # ``requests`` replaces the planner's choice (e.g. register by register, to compare)
        self.requests: tuple[Request, ...] = (
            tuple(requests)
            if requests is not None
            else plan(model.registers, model.limits, cost or Cost.tcp())
        )
        self._decoder = BlockDecoder(
            model.registers, [(r.fc, r.address, r.count) for r in self.requests]
        )
        self._rollover = {r.quantity: r.rollover for r in model.registers if r.rollover}
        self._last: dict[str, float] = {}
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._same: tuple[tuple[str, float, str], ...] = ()
        self._same_since = 0.0
        self.decode_errors = 0

    @property
    def device_id(self) -> str:
        return self._id

    @property
    def silence_s(self) -> float:
        return self.model.limits.silence_s

    @property
    def timeout_s(self) -> float:
        return self.model.limits.timeout_s

    async def _request(self, req: Request) -> list[int]:
        client = self.link.client
        call = client.read_input_registers if req.fc == 4 else client.read_holding_registers
        where = f"FC{req.fc:02d} {req.address:#06x}+{req.count}"
        if self.link.unsettled:
            self.link.unsettled = False
            await self._sleep(self.link.late_guard_s)
        try:
            async with asyncio.timeout(self.timeout_s):
                resp = await call(req.address, count=req.count, device_id=self.unit_id)
        except TimeoutError as exc:
            self.link.unsettled = self.link.late_guard_s > 0
            raise DeviceError(self._id, "timeout", f"{where}: no answer") from exc
        except ConnectionException as exc:
            raise DeviceError(self._id, "connection", f"{where}: {exc}") from exc
        except ModbusException as exc:
            # pymodbus reports "no response" and a mismatched answer the same way
            self.link.unsettled = self.link.late_guard_s > 0
            kind = "timeout" if "No response" in str(exc) else "protocol"
            raise DeviceError(self._id, kind, f"{where}: {exc}") from exc
        except OSError as exc:
            raise DeviceError(self._id, "connection", f"{where}: {exc}") from exc
        if resp.isError():
            code = getattr(resp, "exception_code", None)
            raise DeviceError(self._id, "exception_code", f"{where}: exception {code}")
        registers = list(resp.registers)
        if len(registers) != req.count:
            raise DeviceError(
                self._id, "protocol", f"{where}: {len(registers)} registers in the answer"
            )
        return registers

    def _frozen(self, values: list[tuple[str, float, str]]) -> bool:
        now = self._clock()
        same = tuple(values)
        if len(same) < 3 or same != self._same:
            self._same, self._same_since = same, now
            return False
        return now - self._same_since >= self._stale_after_s

    async def read(self) -> Sequence[Reading]:
        await self.link.ensure(self._id)
        ts = self._wall()
        blocks: list[list[int]] = []
        for i, req in enumerate(self.requests):
            if i and self.silence_s:
                await self._sleep(self.silence_s)
            blocks.append(await self._request(req))
        values, errors = self._decoder.decode(blocks)
        if errors:
            self.decode_errors += len(errors)
            if not values:
                raise DeviceError(self._id, "decode", "; ".join(str(e) for e in errors[:3]))
        out: list[Reading] = []
        plain: tuple[QualityFlag, ...] = ("time_from_gateway",)
        if self._frozen(values):
            plain = ("time_from_gateway", "stale")
        for quantity, value, unit in values:
            quality = plain
            rollover = self._rollover.get(quantity)
            if rollover is not None:
                prev = self._last.get(quantity)
                if prev is not None and prev - value > rollover / 2:
                    quality = (*plain, "overflow")
                self._last[quantity] = value
            # The values were checked by the decoder (finite) and the config (meter id); a
            # full validation per point would cost more than the whole read on Modbus TCP.
            out.append(
                Reading.model_construct(
                    meter_id=self._id,
                    quantity=quantity,
                    value=value,
                    unit=unit,
                    ts=ts,
                    quality=quality,
                )
            )
        return out
