"""One mode C data readout over a serial port: sign-on at 300 7E1, ACK, switch speed, data.

This is the short loop between :class:`drivers.serialport.AsyncSerialPort` and the sans-IO
:class:`drivers.iec62056.codec.IecReader`. The port really changes speed after the ACK has left
the UART. Timing follows the standard: the reader waits the meter's reaction time (200 ms, or
20 ms when the maker's third letter is lowercase) before answering; a meter that stays silent
for ``gap_s`` between characters has stopped talking.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from drivers.iec62056.codec import (
    NEED_DATA,
    AckOptionSelect,
    DataBlock,
    Event,
    IecReader,
    RepeatRequest,
    SignOn,
    WakeUp,
)
from drivers.iec62056.datasets import DataSet
from drivers.iec62056.errors import BccError, TransportError, TransportTimeout
from drivers.iec62056.frames import Identification, ParityMode
from drivers.serialport import AsyncSerialPort, LineSettings, SerialPortError

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class IecLink:
    """How to talk to one meter: its address, speeds, framing, timeouts."""

    address: str = ""
    signon_baud: int = 300
    max_baud: int = 19200
    bytesize: int = 7  # 7E1 as the standard says; 8 with parity "N" for ports that cannot
    parity: ParityMode = "strip"  # what to do with bit 7 of received characters
    wake_up_s: float = 0.0  # battery meters: send NULs this long, then pause 1.5 s
    wake_up_pause_s: float = 1.5
    answer_s: float = 1.5  # first character of an answer must come within this
    gap_s: float = 1.5  # silence between characters that ends a message
    reaction_s: float | None = None  # None: the meter's own (200 ms or 20 ms)
    bcc_retries: int = 1  # NAKs sent to have a block with a bad BCC sent again

    def __post_init__(self) -> None:
        if self.bytesize not in (7, 8):
            raise ValueError(f"bytesize {self.bytesize}: 7 (7E1) or 8 (8N1)")
        if self.parity == "check" and self.bytesize != 8:
            raise ValueError("parity 'check' needs an 8N1 port: a 7E1 UART removes the bit")

    def line(self, baudrate: int) -> LineSettings:
        if self.bytesize == 7:
            return LineSettings(baudrate, 7, "E", 1)
        return LineSettings(baudrate, 8, "N", 1)


@dataclass(frozen=True)
class Readout:
    identification: Identification
    datasets: tuple[DataSet, ...]
    baudrate: int  # the speed the data block came at
    size: int


async def read_out(
    port: AsyncSerialPort, link: IecLink, *, sleep: Sleep = asyncio.sleep
) -> Readout:
    """Run one data readout; raises the :mod:`drivers.iec62056.errors` tree."""
    reader = IecReader(address=link.address, max_baud=link.max_baud, parity=link.parity)
    try:
        await port.configure(link.line(link.signon_baud))
        port.discard_input()
        if link.wake_up_s > 0:
            count = max(1, int(link.wake_up_s * link.signon_baud / 10))
            await port.write(reader.send(WakeUp(count=count)))
            await sleep(link.wake_up_pause_s)
            port.discard_input()
        await port.write(reader.send(SignOn()))
        ident = await _await_event(port, reader, link, "identification")
        assert isinstance(ident, Identification)
        await sleep(ident.reaction_time_s if link.reaction_s is None else link.reaction_s)
        await port.write(reader.send(AckOptionSelect()))
        assert reader.data_baudrate is not None
        await port.configure(link.line(reader.data_baudrate))
        block = await _data_block(port, reader, link, sleep)
    except SerialPortError as exc:
        raise TransportError(str(exc)) from exc
    return Readout(
        identification=ident,
        datasets=block.datasets,
        baudrate=reader.data_baudrate,
        size=block.size,
    )


async def _data_block(
    port: AsyncSerialPort, reader: IecReader, link: IecLink, sleep: Sleep
) -> DataBlock:
    """The data block, sending NAK up to ``bcc_retries`` times when its BCC is wrong."""
    assert reader.identification is not None
    reaction = reader.identification.reaction_time_s if link.reaction_s is None else link.reaction_s
    naks = 0
    while True:
        try:
            event = await _await_event(port, reader, link, "data block")
        except BccError:
            naks += 1
            if naks > link.bcc_retries:
                raise
            await sleep(reaction)
            port.discard_input()
            await port.write(reader.send(RepeatRequest()))
            continue
        assert isinstance(event, DataBlock)
        return event


async def _await_event(port: AsyncSerialPort, reader: IecReader, link: IecLink, what: str) -> Event:
    timeout = link.answer_s
    received = 0
    while True:
        event = reader.next_event()
        if event is not NEED_DATA:
            return event
        chunk = await port.read(timeout)
        if not chunk:
            state = "no answer" if received == 0 else f"silent after {received} bytes"
            raise TransportTimeout(f"{what}: {state} within {timeout:.3f} s")
        received += len(chunk)
        reader.receive_data(chunk)
        timeout = link.gap_s
