"""Pseudo-terminal pairs that stand in for a serial port: the meter side holds the master, the
gateway opens the slave by path (optionally through a symlink such as ``.../ttyUSB0``).

What a pty does and does not emulate (Linux):
- a baud-rate change made on the slave is visible on the master (``tcgetattr`` of the master
  reports the slave's settings), so a simulator can check that the reader really switched speed;
- parity and data bits are not emulated: every byte passes with all 8 bits whatever the slave
  asked for. A simulated 7E1 meter can set bit 7 to the even-parity bit (``parity_on_wire``) to
  show what an 8N1 port would receive from a real 7E1 line; a reader set to 7E1 on a pty gets the
  bytes as sent;
- nothing takes time on a pty: :meth:`PtyPort.write` can pace bytes at the slave's speed when
  asked (``wire_timing``), so benchmarks can be held against the physical limit.

Linux keeps a pty's settings while the master is open, and answers ``EINVAL`` to a
``tcsetattr`` whose only change is framing the pty ignores, so a client that reopens the port
with, say, 8E1 fails. The meter side therefore puts back the pty's fresh settings whenever no
client has the slave open (reading the master then fails with ``EIO``), and every open starts
from the same state a new serial device would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import select
import termios
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Self

_SPEEDS: tuple[int, ...] = (
    50,
    75,
    110,
    134,
    150,
    200,
    300,
    600,
    1200,
    1800,
    2400,
    4800,
    9600,
    19200,
    38400,
)
_SPEEDS += (57600, 115200, 230400)
SPEED_OF: dict[int, int] = {
    getattr(termios, f"B{speed}"): speed for speed in _SPEEDS if hasattr(termios, f"B{speed}")
}


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class PtyPort:
    """One pty pair. ``path`` is what the gateway opens."""

    def __init__(
        self, link: str | Path | None = None, *, wire_timing: bool = False, bits_per_char: int = 11
    ) -> None:
        self.master_fd, slave_fd = pty.openpty()
        self._fresh = termios.tcgetattr(slave_fd)
        os.set_blocking(self.master_fd, False)
        self.slave_name = os.ttyname(slave_fd)
        os.close(slave_fd)
        self.link = Path(link) if link is not None else None
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self.slave_name)
        self.wire_timing = wire_timing
        self.bits_per_char = bits_per_char  # 10 for 7E1 (IEC 62056-21), 11 for 8E1 (M-Bus)
        self.closed = False

    @property
    def path(self) -> str:
        return str(self.link) if self.link is not None else self.slave_name

    def speed(self) -> int:
        """The baud rate the gateway last set on its end."""
        attrs = termios.tcgetattr(self.master_fd)
        return SPEED_OF.get(attrs[5], 0)

    def char_seconds(self) -> float:
        """Seconds one character takes at the current speed."""
        speed = self.speed() or 9600
        return self.bits_per_char / speed

    async def arrival(self, data: bytes) -> None:
        """With wire timing, wait until ``data`` (just read) would have finished arriving."""
        if self.wire_timing:
            await asyncio.sleep(len(data) * self.char_seconds())

    @property
    def connected(self) -> bool:
        """Whether a client has the slave open (the master is not hung up)."""
        poller = select.poll()
        poller.register(self.master_fd, select.POLLIN)
        return not any(events & select.POLLHUP for _, events in poller.poll(0))

    def read_nowait(self, max_bytes: int = 4096) -> bytes:
        try:
            return os.read(self.master_fd, max_bytes)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:  # EIO: nobody has the slave open
            self._refresh()
            return b""

    def _refresh(self) -> None:
        """Give the next client a fresh port (see the module's note on EINVAL)."""
        with contextlib.suppress(termios.error, OSError):
            if termios.tcgetattr(self.master_fd) != self._fresh:
                termios.tcsetattr(self.master_fd, termios.TCSANOW, self._fresh)

    async def read(self, max_bytes: int = 4096) -> bytes:
        """Wait until the gateway wrote something."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = os.read(self.master_fd, max_bytes)
            except (BlockingIOError, InterruptedError):
                data = b""
            except OSError:  # EIO: nobody has the slave open; look again shortly
                self._refresh()
                await asyncio.sleep(0.01)
                continue
            if data:
                return data
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_reader(self.master_fd, _wake, ready)
            try:
                await ready
            finally:
                loop.remove_reader(self.master_fd)

    async def write(self, data: bytes, *, pace: bool | None = None) -> None:
        """Send ``data`` to the gateway, taking wire time per byte when pacing."""
        pace = self.wire_timing if pace is None else pace
        if not pace:
            await self._write_all(data)
            return
        per_char = self.char_seconds()
        step = max(1, int(0.01 / per_char))  # about 10 ms worth of characters per write
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(0, len(data), step):
            await self._write_all(data[i : i + step])
            due = start + (i + step) * per_char
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def _write_all(self, data: bytes, give_up_s: float = 2.0) -> None:
        view = memoryview(data)
        waited = 0.0
        while view:
            try:
                view = view[os.write(self.master_fd, view) :]
            except BlockingIOError:
                if waited >= give_up_s:
                    return  # nobody reads the line: the bytes are lost, as on a real wire
                await asyncio.sleep(0.005)  # the gateway has not read its input yet
                waited += 0.005

    def discard_input(self) -> None:
        while self.read_nowait():
            pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
        os.close(self.master_fd)


class PtyDeviceServer(ABC):
    """A simulated device (or bus of them) serving one pty: ``await start()``, read ``path``,
    ``await stop()``, or ``async with``. Subclasses open the port and answer in ``_serve``."""

    port: PtyPort | None = None
    _task: asyncio.Task[None] | None = None

    @abstractmethod
    def _open_port(self) -> PtyPort:
        """The pty, framed and timed as this device's line is."""

    @abstractmethod
    async def _serve(self) -> None:
        """Read requests from ``self.port`` and answer them, until cancelled."""

    @property
    def path(self) -> str:
        if self.port is None:
            raise RuntimeError("the device is not started")
        return self.port.path

    async def start(self) -> None:
        self.port = self._open_port()
        self._task = asyncio.create_task(self._serve(), name=type(self).__name__)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.port is not None:
            self.port.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
