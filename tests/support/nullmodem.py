"""A null-modem cable made of two ptys: what one end's program writes, the other end's reads.

``async with NullModem() as (a, b)`` gives two device paths; open one in a server and the other
in a client, as two serial ports joined by a cable. (Linux ptys carry no parity: use 8N1/8N2.)
"""

from __future__ import annotations

import asyncio
import os
import tty
from types import TracebackType


class NullModem:
    def __init__(self) -> None:
        self._fds: list[int] = []
        self._masters: tuple[int, int] = (-1, -1)

    async def __aenter__(self) -> tuple[str, str]:
        ends = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(master)
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._fds += [master, slave]
            ends.append((master, os.ttyname(slave)))
        (ma, pa), (mb, pb) = ends
        loop = asyncio.get_running_loop()
        loop.add_reader(ma, self._relay, ma, mb)
        loop.add_reader(mb, self._relay, mb, ma)
        self._masters = (ma, mb)
        return pa, pb

    @staticmethod
    def _relay(src: int, dst: int) -> None:
        try:
            data = os.read(src, 4096)
        except (BlockingIOError, OSError):
            return
        os.write(dst, data)

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        loop = asyncio.get_running_loop()
        for fd in self._masters:
            loop.remove_reader(fd)
        for fd in self._fds:
            os.close(fd)
