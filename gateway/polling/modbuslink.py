"""The links Modbus meters share: one RS-485 line (RTU on a serial port) or one Modbus TCP
connection. ``transact`` sends one read and returns its register bytes, or raises
:class:`~gateway.polling.device.DeviceError`.

* :class:`SerialLink` — one RS-485 line: RTU frames on a serial port;
* :class:`TcpLink` — one Modbus TCP connection (:mod:`drivers.modbus.tcp_client`). Behind a
  TCP-to-RS-485 gateway (``one_at_a_time``) its requests go strictly one after the other. A read
  that lost its answer because another answer broke the stream (``link_reset``) is sent again
  on a new connection (up to three times).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from typing import Literal

from drivers.modbus.frames import ModbusExceptionCode, RtuAnswerDecoder, read_request_pdu, rtu_frame
from drivers.modbus.planner import Request
from drivers.modbus.tcp_client import ModbusTcpClient, ModbusTcpError
from drivers.serialport import AsyncSerialPort, LineSettings, Parity, SerialPortError
from gateway.polling.device import DeviceError

RESETS_TRIED = 3  # a read lost to a stream another answer broke is sent again this often


def where(req: Request) -> str:
    """How a log line names a request."""
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
        at = where(req)
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
            detail = f"{at}: exception {exc.code}"
            raise DeviceError(device_id, "exception_code", detail, code=exc.code) from exc
        except SerialPortError as exc:
            port.close()  # opened again on the next read
            raise DeviceError(device_id, "connection", f"{at}: {exc}") from exc
        if answer.crc_errors:
            raise DeviceError(device_id, "crc", f"{at}: answer failed its CRC")
        if answer.skipped or answer.pending:
            got = answer.skipped + answer.pending
            raise DeviceError(device_id, "protocol", f"{at}: {got} bytes but no answer")
        raise DeviceError(device_id, "timeout", f"{at}: no answer")

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
        """One read; sent again on a new connection when another answer broke the stream (at
        most ``RESETS_TRIED`` times: a meter that breaks it often may break the next one too)."""
        for attempt in range(RESETS_TRIED + 1):
            try:
                async with self._turn:
                    if not self.client.connected:  # another meter's broken answer closed it
                        await self.ensure(device_id)
                    return await self.client.read(
                        unit, req.fc, req.address, req.count, timeout_s=timeout_s
                    )
            except ModbusTcpError as exc:
                if exc.kind != "link_reset" or attempt == RESETS_TRIED:
                    detail = f"{where(req)}: {exc.detail}"
                    raise DeviceError(device_id, exc.kind, detail, code=exc.code) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        self.client.close()
