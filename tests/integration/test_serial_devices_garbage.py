"""A line that answers garbage: the devices raise DeviceError with a countable kind, nothing else.

The "meter" here is a bare pty that answers each request with the next hypothesis-drawn chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.iec62056.frames import Identification, encode_data_block, encode_identification
from drivers.iec62056.transport import IecLink
from drivers.mbus.frames import LongFrame, encode
from drivers.mbus.transport import MbusLink
from drivers.serialport import AsyncSerialPort, LineSettings
from gateway.polling.device import DeviceError
from gateway.polling.iec import IecDevice
from gateway.polling.mbus import MbusDevice
from simulators.ptylink import PtyPort
from tests.support.serial_strategies import mutated

KINDS = {"timeout", "crc", "garbled", "protocol"}
IDENT = encode_identification(Identification("ABc", "5", "X"))
BLOCK = encode_data_block("1.8.0(000123.456*kWh)\r\n0.9.1(120000)\r\n0.9.2(260101)\r\n")
RSP_UD = encode(LongFrame(c=0x08, a=1, ci=0x72, data=bytes.fromhex(
    "78563412244001075500000003131531000c13785634120b3b130100046d2b0a4e32"
)))  # fmt: skip


async def answer_with(pty: PtyPort, answers: list[bytes]) -> None:
    for answer in answers:
        await pty.read()
        await pty.write(answer)
    while True:
        await pty.read()


async def read_through(device_factory: object, answers: list[bytes]) -> None:
    pty = PtyPort()
    task = asyncio.create_task(answer_with(pty, answers))
    try:
        device = device_factory(pty.slave_name)  # type: ignore[operator]
        kind = "ok"
        try:
            await device.read()
        except DeviceError as exc:
            kind = exc.kind
        finally:
            device.transport.close()
        assert kind in KINDS | {"ok"}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        pty.close()


def iec(path: str, wait_s: float = 0.05) -> IecDevice:
    port = AsyncSerialPort(path, LineSettings(300, 7, "E"))
    link = IecLink(answer_s=wait_s, gap_s=wait_s / 2, reaction_s=0.0)
    return IecDevice("iec-1", transport=port, link=link, meter_tz=UTC)


def mbus(path: str, wait_s: float = 0.05) -> MbusDevice:
    port = AsyncSerialPort(path, LineSettings(2400, 8, "E"))
    link = MbusLink(answer_s=wait_s, gap_s=wait_s / 2, retries=0)
    return MbusDevice("mbus-1", transport=port, primary=1, link=link, meter_tz=UTC)


FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.one_of(mutated(IDENT), st.binary(min_size=1, max_size=60)), mutated(BLOCK))
def test_iec_device_on_a_garbage_line(ident: bytes, block: bytes) -> None:
    asyncio.run(read_through(iec, [ident, block]))


@FUZZ
@given(st.sampled_from([b"\xe5", b"\xe6", b"\x10"]), mutated(RSP_UD))
def test_mbus_device_on_a_garbage_line(ack: bytes, answer: bytes) -> None:
    asyncio.run(read_through(mbus, [ack, answer]))


def test_a_clean_fake_line_reads() -> None:
    """The same harness with unbroken answers gives readings, so the fuzz above is not vacuous."""

    async def body() -> None:
        pty = PtyPort()
        task = asyncio.create_task(answer_with(pty, [IDENT, BLOCK]))
        device = iec(pty.slave_name, wait_s=1.0)
        readings = await device.read()
        device.transport.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        pty.close()
        assert [(r.quantity, r.value) for r in readings] == [("energy_import", 123.456)]

        pty = PtyPort()
        task = asyncio.create_task(answer_with(pty, [b"\xe5", RSP_UD]))
        meter = mbus(pty.slave_name, wait_s=1.0)
        values = {r.quantity: r.value for r in await meter.read()}
        meter.transport.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        pty.close()
        assert values == {"volume": 12.565, "volume_flow": 0.113}

    asyncio.run(body())
