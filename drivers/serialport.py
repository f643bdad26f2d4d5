"""A thin asyncio serial port over pyserial: non-blocking fd, the event loop waits for bytes.

pyserial opens the device non-blocking and applies line settings with termios; this wrapper
adds ``await read(timeout)`` (wakes on the fd becoming readable), ``await write`` (waits for the
UART to drain, in a thread, so a baud change never cuts the last characters) and ``configure``
to change speed, data bits and parity between messages, as IEC 62056-21 needs.
One port per bus; the bus's scheduler makes sure one device uses it at a time.
"""

from __future__ import annotations

import asyncio
import errno
import os
import termios
from dataclasses import dataclass
from typing import Literal

import serial


class SerialPortError(Exception):
    """The port could not be opened, configured, read or written."""

    def __init__(self, port: str, message: str) -> None:
        self.port = port
        super().__init__(f"{port}: {message}")


class SerialTimeout(SerialPortError):
    """Nothing arrived in time."""


Parity = Literal["N", "E", "O"]


@dataclass(frozen=True)
class LineSettings:
    baudrate: int
    bytesize: Literal[7, 8] = 8
    parity: Parity = "N"
    stopbits: Literal[1, 2] = 1

    def __str__(self) -> str:
        return f"{self.baudrate} {self.bytesize}{self.parity}{self.stopbits}"

    @property
    def bits_per_char(self) -> int:
        return 1 + self.bytesize + (0 if self.parity == "N" else 1) + self.stopbits

    def seconds(self, nbytes: int) -> float:
        """How long ``nbytes`` take on the wire at these settings."""
        return nbytes * self.bits_per_char / self.baudrate


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class AsyncSerialPort:
    def __init__(self, path: str, settings: LineSettings) -> None:
        self.path = path
        self.settings = settings
        self._serial: serial.Serial | None = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        if self._serial is not None:
            return
        try:
            # Open 8N1 at the wanted speed, then ask for the framing (see _set).
            self._serial = serial.Serial(
                self.path,
                baudrate=self.settings.baudrate,
                stopbits=self.settings.stopbits,
                timeout=0,
                write_timeout=0,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise SerialPortError(self.path, f"cannot open: {exc}") from exc
        self._set(self.settings)

    def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
            self._serial = None

    def _port(self) -> serial.Serial:
        if self._serial is None:
            raise SerialPortError(self.path, "port is not open")
        return self._serial

    async def configure(self, settings: LineSettings) -> None:
        """Change speed and framing (after everything written so far left the UART)."""
        self._port()
        if settings == self.settings:
            return
        await self.drain()
        self._set(settings)

    def _set(self, settings: LineSettings) -> None:
        """Apply each setting that differs, one termios call each.

        A pseudo-terminal keeps 8 bits and no parity whatever is asked, and Linux answers EINVAL
        to a request whose only difference is such framing; that request changed nothing, and
        the port stays at the speed asked, so EINVAL is accepted there and only there.
        """
        port = self._port()
        wanted = {
            "baudrate": settings.baudrate,
            "bytesize": settings.bytesize,
            "parity": settings.parity,
            "stopbits": settings.stopbits,
        }
        for name, value in wanted.items():
            if getattr(port, name) == value:
                continue
            try:
                setattr(port, name, value)
            except termios.error as exc:
                if exc.args[0] != errno.EINVAL or name == "baudrate":
                    raise SerialPortError(self.path, f"cannot set {settings}: {exc}") from exc
            except (serial.SerialException, OSError, ValueError) as exc:
                raise SerialPortError(self.path, f"cannot set {settings}: {exc}") from exc
        self.settings = settings

    def discard_input(self) -> None:
        try:
            self._port().reset_input_buffer()
        except (serial.SerialException, OSError, termios.error) as exc:
            raise SerialPortError(self.path, f"cannot flush input: {exc}") from exc

    async def drain(self) -> None:
        fd = self._port().fileno()
        try:
            await asyncio.to_thread(termios.tcdrain, fd)
        except (OSError, termios.error) as exc:
            raise SerialPortError(self.path, f"cannot drain: {exc}") from exc

    async def write(self, data: bytes) -> None:
        """Write every byte and wait until the UART has sent them."""
        fd = self._port().fileno()
        view = memoryview(data)
        loop = asyncio.get_running_loop()
        while view:
            try:
                sent = os.write(fd, view)
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_writer(fd, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_writer(fd)
                continue
            except OSError as exc:
                raise SerialPortError(self.path, f"write failed: {exc}") from exc
            view = view[sent:]
        await self.drain()

    async def read(self, within: float, max_bytes: int = 4096) -> bytes:
        """Whatever is there, waiting up to ``within`` s for the first byte; ``b""`` if none."""
        fd = self._port().fileno()
        data = self._read_now(fd, max_bytes)
        if data or within <= 0:
            return data
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, _wake, ready)
        try:
            await asyncio.wait_for(ready, within)
        except TimeoutError:
            return b""
        finally:
            loop.remove_reader(fd)
        return self._read_now(fd, max_bytes)

    def _read_now(self, fd: int, max_bytes: int) -> bytes:
        try:
            return os.read(fd, max_bytes)
        except BlockingIOError:
            return b""
        except OSError as exc:
            raise SerialPortError(self.path, f"read failed: {exc}") from exc

    async def __aenter__(self) -> AsyncSerialPort:
        self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
