"""A Modbus meter behind the :class:`~gateway.polling.device.PolledDevice` interface.

The device plans its requests once (:mod:`drivers.modbus.planner`), sends them through a link
shared by the devices of its bus, keeps the meter's silence between its own requests and decodes
the answers' bytes with the meter model. Two links:

* :class:`SerialLink` — one RS-485 line: a pymodbus RTU client on a serial port;
* :class:`TcpLink` — one Modbus TCP connection (:mod:`drivers.modbus.tcp_client`). Behind a
  TCP-to-RS-485 gateway (``one_at_a_time``) its requests go strictly one after the other.

Modbus meters have no clock: a reading's timestamp is the time of the read, flagged
``time_from_gateway``. A counter that went down by more than half its range since the last read
rolled over at its digit count: that reading is flagged ``overflow``. A meter whose every value
(voltages and frequency included, which always jitter) stayed bit-for-bit the same for
``stale_after_s`` is frozen: its readings are flagged ``stale``.
"""

from __future__ import annotations

import asyncio
import struct
import termios
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException

from contract.mqtt import QualityFlag, Reading
from drivers.modbus.decode import BlockDecoder
from drivers.modbus.planner import Cost, Request, plan
from drivers.modbus.tcp_client import ModbusTcpClient, ModbusTcpError
from drivers.modbus.types import MeterModel
from gateway.polling.device import DeviceError


def _wall() -> datetime:
    return datetime.now(UTC)


def _where(req: Request) -> str:
    return f"FC{req.fc:02d} {req.address:#06x}+{req.count}"


class ModbusLink:
    """What the devices of one bus share: ``transact`` sends a read and returns its bytes."""

    name: str

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
    ) -> SerialLink:
        return SerialLink(
            port,
            baud=baud,
            parity=parity,
            stopbits=stopbits,
            bytesize=bytesize,
            timeout_s=timeout_s,
            late_guard_s=late_guard_s,
        )

    @classmethod
    def tcp(
        cls,
        host: str,
        port: int = 502,
        *,
        timeout_s: float = 3.0,
        one_at_a_time: bool = False,
    ) -> TcpLink:
        return TcpLink(host, port, connect_timeout_s=timeout_s, one_at_a_time=one_at_a_time)

    async def ensure(self, device_id: str) -> None:
        """Open the port or connection if it is not open; ``DeviceError('connection')``."""
        raise NotImplementedError

    async def transact(self, device_id: str, unit: int, req: Request, *, timeout_s: float) -> bytes:
        """The answer's register bytes (big-endian words), or :class:`DeviceError`."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class SerialLink(ModbusLink):
    """One pymodbus RTU client on a serial port, shared by the meters of one RS-485 line.

    pymodbus clients need a running event loop, so the client is made on first use.
    """

    def __init__(
        self,
        port: str,
        *,
        baud: int,
        parity: str,
        stopbits: int,
        bytesize: int,
        timeout_s: float,
        late_guard_s: float,
    ) -> None:
        self.name = port
        self._baud, self._parity, self._stopbits, self._bytesize = baud, parity, stopbits, bytesize
        self._timeout_s = timeout_s
        self._client: Any = None
        # After a timeout on a serial line, a late answer may still come. pymodbus's RTU
        # framer takes one frame per chunk read, so a late answer arriving together with the
        # next meter's would cost that meter its read: the line is left quiet this long first.
        self.late_guard_s = late_guard_s
        self.unsettled = False
        self._packers: dict[int, struct.Struct] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = AsyncModbusSerialClient(
                self.name,
                baudrate=self._baud,
                parity=self._parity,
                stopbits=self._stopbits,
                bytesize=self._bytesize,
                timeout=self._timeout_s,
                retries=0,
                reconnect_delay=0,  # we reconnect ourselves, on the next read
            )
        return self._client

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

    async def transact(self, device_id: str, unit: int, req: Request, *, timeout_s: float) -> bytes:
        client = self.client
        call = client.read_input_registers if req.fc == 4 else client.read_holding_registers
        where = _where(req)
        if self.unsettled:
            self.unsettled = False
            await asyncio.sleep(self.late_guard_s)
        try:
            async with asyncio.timeout(timeout_s):
                resp = await call(req.address, count=req.count, device_id=unit)
        except TimeoutError as exc:
            self.unsettled = self.late_guard_s > 0
            raise DeviceError(device_id, "timeout", f"{where}: no answer") from exc
        except ConnectionException as exc:
            raise DeviceError(device_id, "connection", f"{where}: {exc}") from exc
        except ModbusException as exc:
            # pymodbus reports "no response" and a mismatched answer the same way
            self.unsettled = self.late_guard_s > 0
            kind = "timeout" if "No response" in str(exc) else "protocol"
            raise DeviceError(device_id, kind, f"{where}: {exc}") from exc
        except OSError as exc:
            raise DeviceError(device_id, "connection", f"{where}: {exc}") from exc
        if resp.isError():
            code = getattr(resp, "exception_code", None)
            raise DeviceError(device_id, "exception_code", f"{where}: exception {code}")
        registers = resp.registers
        if len(registers) != req.count:
            raise DeviceError(
                device_id, "protocol", f"{where}: {len(registers)} registers in the answer"
            )
        packer = self._packers.get(req.count)
        if packer is None:
            packer = self._packers[req.count] = struct.Struct(f">{req.count}H")
        return packer.pack(*registers)

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class TcpLink(ModbusLink):
    """One Modbus TCP connection, shared by the meters at one host and port.

    ``one_at_a_time``: the meters sit behind a TCP-to-RS-485 gateway, so a request waits for
    the one before it to be answered. Otherwise requests of different meters may overlap.
    """

    def __init__(
        self, host: str, port: int, *, connect_timeout_s: float, one_at_a_time: bool
    ) -> None:
        self.client = ModbusTcpClient(host, port, connect_timeout_s=connect_timeout_s)
        self.name = self.client.name
        self.one_at_a_time = one_at_a_time
        self._turn = asyncio.Lock()

    async def ensure(self, device_id: str) -> None:
        if self.client.connected:
            return
        try:
            await self.client.connect()
        except ModbusTcpError as exc:
            raise DeviceError(device_id, exc.kind, exc.detail) from exc

    async def transact(self, device_id: str, unit: int, req: Request, *, timeout_s: float) -> bytes:
        try:
            if self.one_at_a_time:
                async with self._turn:
                    return await self.client.read(
                        unit, req.fc, req.address, req.count, timeout_s=timeout_s
                    )
            return await self.client.read(unit, req.fc, req.address, req.count, timeout_s=timeout_s)
        except ModbusTcpError as exc:
            raise DeviceError(device_id, exc.kind, f"{_where(req)}: {exc.detail}") from exc

    async def close(self) -> None:
        self.client.close()


class ModbusDevice:
    """One meter: ``model`` (with its overrides applied) at ``unit_id`` on ``link``.

    ``silence_s`` replaces the model's silence (on Modbus TCP a meter's serial silence is the
    business of the gateway in front of it, not of the client).
    """

    def __init__(
        self,
        device_id: str,
        model: MeterModel,
        unit_id: int,
        link: ModbusLink,
        *,
        cost: Cost | None = None,
        requests: Sequence[Request] | None = None,
        silence_s: float | None = None,
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
        self._silence_s = model.limits.silence_s if silence_s is None else silence_s
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
        return self._silence_s

    @property
    def timeout_s(self) -> float:
        return self.model.limits.timeout_s

    def _frozen(self, values: list[tuple[str, float, str]]) -> bool:
        now = self._clock()
        same = tuple(values)
        if len(same) < 3 or same != self._same:
            self._same, self._same_since = same, now
            return False
        return now - self._same_since >= self._stale_after_s

    async def read(self) -> Sequence[Reading]:
        link = self.link
        await link.ensure(self._id)
        ts = self._wall()
        blocks: list[bytes] = []
        silence, timeout = self._silence_s, self.model.limits.timeout_s
        for i, req in enumerate(self.requests):
            if i and silence:
                await self._sleep(silence)
            blocks.append(await link.transact(self._id, self.unit_id, req, timeout_s=timeout))
        values, errors = self._decoder.decode(blocks)
        if errors:
            self.decode_errors += len(errors)
            if not values:
                raise DeviceError(self._id, "decode", "; ".join(str(e) for e in errors[:3]))
        plain: tuple[QualityFlag, ...] = ("time_from_gateway",)
        if self._frozen(values):
            plain = ("time_from_gateway", "stale")
        rollovers, last, meter, make = self._rollover, self._last, self._id, Reading.trusted
        out: list[Reading] = []
        for quantity, value, unit in values:
            quality = plain
            rollover = rollovers.get(quantity)
            if rollover is not None:
                prev = last.get(quantity)
                if prev is not None and prev - value > rollover / 2:
                    quality = (*plain, "overflow")
                last[quantity] = value
            # The decoder checked the values (finite), the configuration the meter id and the
            # model the quantity names: a full validation per point would cost more than the read.
            out.append(make(meter, quantity, value, unit, ts, quality))
        return out
