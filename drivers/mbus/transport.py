"""One M-Bus meter read over a serial port (2400 8E1 by default): the loop between
:class:`drivers.serialport.AsyncSerialPort` and the sans-IO :class:`MbusMaster`.

Primary addressing: SND_NKE (E5), then REQ_UD2 until a telegram without "more records follow".
Secondary addressing: select with CI 0x52 (E5), then REQ_UD2 to address 253. A lost or broken
answer is asked again with the same FCB, so the meter repeats rather than moves on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from drivers.mbus.errors import RemoteProtocolError, TransportError, TransportTimeout
from drivers.mbus.frames import ADDRESS_NETWORK, Ack
from drivers.mbus.master import (
    Event,
    MbusMaster,
    ReqUd2,
    Request,
    RspUd,
    SelectSecondary,
    SndNke,
)
from drivers.mbus.records import Telegram
from drivers.serialport import AsyncSerialPort, LineSettings, SerialPortError

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class MbusLink:
    baudrate: int = 2400
    answer_s: float = 0.5  # EN 13757-2 allows 330 bit times + 50 ms; converters add more
    gap_s: float = 0.1  # silence inside a frame that means the meter stopped
    retries: int = 1  # extra attempts after a lost or broken answer
    max_telegrams: int = 8

    def line(self) -> LineSettings:
        return LineSettings(self.baudrate, 8, "E", 1)

    @property
    def pause_s(self) -> float:
        """Idle time of 33 bit times between an answer and the next request."""
        return 33 / self.baudrate


async def read_meter(
    port: AsyncSerialPort,
    link: MbusLink,
    *,
    primary: int | None = None,
    secondary: SelectSecondary | None = None,
    sleep: Sleep = asyncio.sleep,
) -> list[Telegram]:
    """Every telegram of one meter's answer; raises the :mod:`drivers.mbus.errors` tree."""
    if (primary is None) == (secondary is None):
        raise ValueError("give a primary or a secondary address")
    master = MbusMaster()
    try:
        await port.configure(link.line())
        if secondary is not None:
            await _transact(port, master, secondary, link, sleep)
            address = ADDRESS_NETWORK
        else:
            assert primary is not None
            await _transact(port, master, SndNke(primary), link, sleep)
            address = primary
        telegrams: list[Telegram] = []
        while True:
            await sleep(link.pause_s)
            answer = await _transact(port, master, ReqUd2(address), link, sleep)
            assert isinstance(answer, RspUd)
            telegrams.append(answer.telegram)
            if not answer.telegram.more_follows or len(telegrams) >= link.max_telegrams:
                return telegrams
    except SerialPortError as exc:
        raise TransportError(str(exc)) from exc


async def _transact(
    port: AsyncSerialPort, master: MbusMaster, request: Request, link: MbusLink, sleep: Sleep
) -> Event:
    last: Exception | None = None
    for attempt in range(link.retries + 1):
        if attempt:
            await sleep(link.pause_s + link.gap_s)  # let a late or broken answer die out
        port.discard_input()
        await port.write(master.send(request))
        try:
            return await await_answer(port, master, link)
        except (TransportTimeout, RemoteProtocolError) as exc:
            last = exc
    assert last is not None
    raise last


async def await_answer(port: AsyncSerialPort, master: MbusMaster, link: MbusLink) -> Event:
    timeout, received = link.answer_s, 0
    while True:
        event = master.next_event()
        if isinstance(event, Ack | RspUd):
            return event
        chunk = await port.read(timeout)
        if not chunk:
            state = "no answer" if received == 0 else f"silent after {received} bytes"
            raise TransportTimeout(f"{state} within {timeout:.3f} s")
        received += len(chunk)
        master.receive_data(chunk)
        timeout = link.gap_s
