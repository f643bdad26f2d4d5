"""The RTU link on a real serial line (a null-modem pty pair) against a scripted meter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from drivers.modbus.frames import RtuRequestDecoder, read_response_pdu, rtu_frame
from drivers.modbus.planner import Request
from drivers.serialport import AsyncSerialPort, LineSettings
from gateway.polling.device import DeviceError
from gateway.polling.modbus import ModbusLink
from tests.support.aio import run_async
from tests.support.nullmodem import NullModem

LINE = LineSettings(19200)
REQ = Request(4, 0, 2)

# A script gets the unit of a request and returns what the meter writes back.
Script = Callable[[int], bytes]


def good(unit: int) -> bytes:
    return rtu_frame(unit, read_response_pdu(4, [0x1234, 0x5678]))


async def _meter(path: str, script: Script, stop: asyncio.Event) -> None:
    async with AsyncSerialPort(path, LINE) as port:
        dec = RtuRequestDecoder()
        while not stop.is_set():
            chunk = await port.read(0.05)
            if not chunk:
                continue
            dec.feed(chunk)
            while (frame := dec.next_frame()) is not None:
                await port.write(script(frame.unit))


async def _transact(script: Script, timeout_s: float = 0.5) -> tuple[bytes | DeviceError, float]:
    stop = asyncio.Event()
    async with NullModem() as (meter_end, gateway_end):
        task = asyncio.create_task(_meter(meter_end, script, stop))
        link = ModbusLink.serial(gateway_end, baud=LINE.baudrate, parity="N")
        await link.ensure("m1")
        t0 = time.monotonic()
        try:
            result: bytes | DeviceError = await link.transact("m1", 7, REQ, timeout_s=timeout_s)
        except DeviceError as exc:
            result = exc
        took = time.monotonic() - t0
        await link.close()
        stop.set()
        await task
    return result, took


@run_async
async def test_the_answer_is_found_behind_a_late_answer_of_another_meter() -> None:
    late = rtu_frame(2, read_response_pdu(3, [9] * 9))
    got, _ = await _transact(lambda unit: late + b"\x00\xff" + good(unit))
    assert got == b"\x12\x34\x56\x78"


@run_async
async def test_a_bad_crc_fails_as_crc_once_the_line_is_quiet_not_at_the_timeout() -> None:
    def corrupt(unit: int) -> bytes:
        frame = bytearray(good(unit))
        frame[4] ^= 0x01
        return bytes(frame)

    got, took = await _transact(corrupt, timeout_s=2.0)
    assert isinstance(got, DeviceError)
    assert got.kind == "crc"
    assert took < 0.5


@pytest.mark.parametrize(
    ("script", "kind"),
    [
        (lambda unit: b"\x55" * 12, "protocol"),  # noise, no frame
        (lambda unit: b"", "timeout"),  # silence
        (lambda unit: rtu_frame(unit, bytes((0x84, 2))), "exception_code"),
    ],
    ids=["noise", "silence", "refusal"],
)
def test_what_a_failed_transaction_is_called(script: Script, kind: str) -> None:
    got, _ = asyncio.run(_transact(script, timeout_s=0.3))
    assert isinstance(got, DeviceError)
    assert got.kind == kind


@run_async
async def test_a_port_that_cannot_open_is_a_connection_error() -> None:
    link = ModbusLink.serial("/dev/does-not-exist-m2c")
    with pytest.raises(DeviceError) as info:
        await link.ensure("m1")
    assert info.value.kind == "connection"
    assert "/dev/does-not-exist-m2c" in str(info.value)
