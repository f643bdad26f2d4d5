"""A Modbus meter behind the :class:`~gateway.polling.device.PolledDevice` interface.

The device plans its requests once (:mod:`drivers.modbus.planner`), sends them through a link
shared by the devices of its bus, keeps the meter's silence between its own requests and decodes
the answers' bytes with the meter model. Two links:

* :class:`SerialLink` — one RS-485 line: RTU frames on a serial port;
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
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Literal

from contract.mqtt import QualityFlag, Reading
from drivers.modbus.decode import BlockDecoder
from drivers.modbus.frames import (
    ModbusExceptionCode,
    RtuAnswerDecoder,
    read_request_pdu,
    rtu_frame,
)
from drivers.modbus.planner import Cost, Request, plan
from drivers.modbus.tcp_client import ModbusTcpClient, ModbusTcpError
from drivers.modbus.types import MeterModel
from drivers.serialport import AsyncSerialPort, LineSettings, Parity, SerialPortError
from gateway.polling.device import DeviceError


def _wall() -> datetime:
    return datetime.now(UTC)


def _where(req: Request) -> str:
    return f"FC{req.fc:02d} {req.address:#06x}+{req.count}"


class ModbusLink(ABC):
    """What the devices of one bus share: ``transact`` sends a read and returns its bytes."""

    name: str

    @classmethod
    def serial(
        cls,
        port: str,
        *,
        baud: int = 9600,
        parity: Parity = "E",
        stopbits: Literal[1, 2] = 1,
        bytesize: Literal[7, 8] = 8,
    ) -> SerialLink:
        return SerialLink(port, LineSettings(baud, bytesize, parity, stopbits))

    @classmethod
    def tcp(
        cls,
        host: str,
        port: int = 502,
        *,
        connect_timeout_s: float = 3.0,
        one_at_a_time: bool = False,
    ) -> TcpLink:
        return TcpLink(host, port, connect_timeout_s=connect_timeout_s, one_at_a_time=one_at_a_time)

    @abstractmethod
    async def ensure(self, device_id: str) -> None:
        """Open the port or connection if it is not open; ``DeviceError('connection')``."""

    @abstractmethod
    async def transact(self, device_id: str, unit: int, req: Request, *, timeout_s: float) -> bytes:
        """The answer's register bytes (big-endian words), or :class:`DeviceError`."""

    @abstractmethod
    async def close(self) -> None:
        """Close the port or connection; the next :meth:`ensure` opens it again."""


class SerialLink(ModbusLink):
    """One RS-485 line behind one serial port, shared by its meters (one at a time).

    A transaction discards what the line still holds, sends the RTU request and reads until
    the answer (:class:`~drivers.modbus.frames.RtuAnswerDecoder`) is found: a late answer of the
    meter before, or noise, is skipped rather than taken for this meter's. An answer that fails
    its CRC is a ``crc`` error as soon as the line falls quiet after it; bytes that make no answer
    are a ``protocol`` error, no bytes at all a ``timeout``.
    """

    def __init__(self, port: str, settings: LineSettings) -> None:
        self.name = port
        self.settings = settings
        self.port = AsyncSerialPort(port, settings)
        # after a bad frame, the line counts as quiet this long after the last byte
        self.quiet_s = settings.seconds(4) + 0.02

    async def ensure(self, device_id: str) -> None:
        if self.port.is_open:
            return
        try:
            self.port.open()
        except SerialPortError as exc:
            raise DeviceError(device_id, "connection", str(exc)) from exc

    async def transact(self, device_id: str, unit: int, req: Request, *, timeout_s: float) -> bytes:
        where = _where(req)
        port = self.port
        loop = asyncio.get_running_loop()
        answer = RtuAnswerDecoder(unit, req.fc, req.count)
        try:
            port.discard_input()
            await port.write(rtu_frame(unit, read_request_pdu(req.fc, req.address, req.count)))
            deadline = loop.time() + timeout_s
            while True:
                left = deadline - loop.time()
                if answer.crc_errors and not answer.pending:
                    left = min(left, self.quiet_s)
                chunk = await port.read(left) if left > 0 else b""
                if not chunk:
                    break
                answer.feed(chunk)
                data = answer.answer()
                if data is not None:
                    return data
        except ModbusExceptionCode as exc:
            detail = f"{where}: exception {exc.code}"
            raise DeviceError(device_id, "exception_code", detail) from exc
        except SerialPortError as exc:
            port.close()  # opened again on the next read
            raise DeviceError(device_id, "connection", f"{where}: {exc}") from exc
        if answer.crc_errors:
            raise DeviceError(device_id, "crc", f"{where}: answer failed its CRC")
        if answer.skipped or answer.pending:
            got = answer.skipped + answer.pending
            raise DeviceError(device_id, "protocol", f"{where}: {got} bytes but no answer")
        raise DeviceError(device_id, "timeout", f"{where}: no answer")

    async def close(self) -> None:
        self.port.close()


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
        # behind a serial gateway, a request waits for the one before it to be answered
        self._turn: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock() if one_at_a_time else contextlib.nullcontext()
        )

    async def ensure(self, device_id: str) -> None:
        if self.client.connected:
            return
        try:
            await self.client.connect()
        except ModbusTcpError as exc:
            raise DeviceError(device_id, exc.kind, exc.detail) from exc

    async def transact(self, device_id: str, unit: int, req: Request, *, timeout_s: float) -> bytes:
        """One read; sent once more on a new connection when another answer broke the stream."""
        for again in (False, True):
            try:
                if not self.client.connected:  # another meter's broken answer closed it
                    await self.ensure(device_id)
                async with self._turn:
                    return await self.client.read(
                        unit, req.fc, req.address, req.count, timeout_s=timeout_s
                    )
            except ModbusTcpError as exc:
                if exc.kind != "link_reset" or again:
                    raise DeviceError(device_id, exc.kind, f"{_where(req)}: {exc.detail}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

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
