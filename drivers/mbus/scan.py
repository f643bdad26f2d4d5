"""Find the meters on a bus by secondary address: the wildcard search installers use.

Select ``dFFFFFFF`` for each first digit d: silence means no meter's id starts so, a clean E5
means exactly one (read it with REQ_UD2 to 253), a garbled answer means several talked at once,
so fix the next digit and search again. The cost is one answer timeout per empty branch.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from drivers.mbus.errors import RemoteProtocolError, TransportError, TransportTimeout
from drivers.mbus.frames import ADDRESS_NETWORK
from drivers.mbus.master import MbusMaster, ReqUd2, RspUd, SelectSecondary
from drivers.mbus.records import Header
from drivers.mbus.transport import MbusLink, await_answer
from drivers.serialport import AsyncSerialPort, SerialPortError


class Probe(enum.Enum):
    NONE = "none"
    ONE = "one"
    SEVERAL = "several"


@dataclass(frozen=True)
class Found:
    header: Header
    pattern: str


async def _select(port: AsyncSerialPort, master: MbusMaster, pattern: str, link: MbusLink) -> Probe:
    port.discard_input()
    await port.write(master.send(SelectSecondary(pattern)))
    try:
        await await_answer(port, master, link)
    except TransportTimeout:
        return Probe.NONE
    except RemoteProtocolError:
        return Probe.SEVERAL
    return Probe.ONE


async def scan_secondary(port: AsyncSerialPort, link: MbusLink) -> list[Found]:
    """Every meter that answers a selection, with its header; raises the M-Bus error tree."""
    master = MbusMaster()
    found: list[Found] = []

    async def search(prefix: str) -> None:
        for digit in "0123456789":
            pattern = (prefix + digit).ljust(8, "F")
            probe = await _select(port, master, pattern, link)
            if probe is Probe.SEVERAL and len(prefix) < 7:
                await search(prefix + digit)
            elif probe is not Probe.NONE:
                # one meter; at the last digit, meters sharing an id collide again and are skipped
                port.discard_input()
                await port.write(master.send(ReqUd2(ADDRESS_NETWORK)))
                try:
                    answer = await await_answer(port, master, link)
                except (TransportTimeout, RemoteProtocolError):
                    continue
                assert isinstance(answer, RspUd)
                found.append(Found(header=answer.telegram.header, pattern=pattern))

    try:
        await port.configure(link.line())
        await search("")
    except SerialPortError as exc:
        raise TransportError(str(exc)) from exc
    return found
