"""The simulated printer on a raw TCP port (9100) and on a pseudo-terminal (serial / SPP).

Faults for both: ``rate_bps`` (bytes accepted per second), ``disconnect_after`` (TCP: the
connection closes after that many more bytes; the rest is lost). A job also ends when the
link idles for ``idle_flush_s`` or (TCP) when the client closes the connection.

Like a JetDirect port, the TCP server serves one connection at a time: a second client is
accepted by the kernel but read only after the first one's bytes are consumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty

import structlog

from simulators.printer.machine import PrinterMachine

log = structlog.get_logger(__name__)
READ_SIZE = 1024


class _Idle:
    def __init__(self, machine: PrinterMachine, idle_flush_s: float | None) -> None:
        self.machine = machine
        self.idle_flush_s = idle_flush_s
        self._handle: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        if self.idle_flush_s is None:
            return
        if self._handle is not None:
            self._handle.cancel()
        self._handle = asyncio.get_running_loop().call_later(
            self.idle_flush_s, self.machine.link_closed
        )

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


class TcpPrinterServer:
    def __init__(
        self,
        machine: PrinterMachine,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_bps: float | None = None,
        idle_flush_s: float | None = None,
    ) -> None:
        self.machine = machine
        self.host = host
        self.port = port
        self.rate_bps = rate_bps
        self.disconnect_after: int | None = None
        self.connections = 0
        self._idle = _Idle(machine, idle_flush_s)
        self._server: asyncio.Server | None = None
        self._one_at_a_time = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("printer_sim.tcp_listening", host=self.host, port=self.port)
        return self.port

    async def stop(self) -> None:
        self._idle.cancel()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            async with self._one_at_a_time:
                await self._serve(reader, writer)
        except asyncio.CancelledError:
            return  # stop(): the connection is closed, nothing to report
        finally:
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while data := await reader.read(READ_SIZE):
                if self.disconnect_after is not None:
                    if len(data) > self.disconnect_after:
                        data = data[: self.disconnect_after]
                        self.disconnect_after = None
                        self.machine.receive(data)
                        log.info("printer_sim.tcp_drop", port=self.port)
                        return
                    self.disconnect_after -= len(data)
                if self.rate_bps:
                    await asyncio.sleep(len(data) / self.rate_bps)
                reply = self.machine.receive(data)
                if reply:
                    writer.write(reply)
                    await writer.drain()
                self._idle.arm()
        except ConnectionError:
            log.info("printer_sim.tcp_reset", port=self.port)
        finally:
            self._idle.cancel()
            self.machine.link_closed()
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()


class PtyPrinter:
    """A serial printer behind a pty: clients open :attr:`path` like ``/dev/rfcomm0``."""

    def __init__(
        self,
        machine: PrinterMachine,
        *,
        rate_bps: float | None = None,
        idle_flush_s: float | None = 0.5,
    ) -> None:
        self.machine = machine
        self.rate_bps = rate_bps
        self._idle = _Idle(machine, idle_flush_s)
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        os.set_blocking(self.master, False)
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.master, self._readable)
        self._task = asyncio.create_task(self._pump())
        log.info("printer_sim.pty", path=self.path)
        return self.path

    def _readable(self) -> None:
        try:
            data = os.read(self.master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # no client has the port open: nothing to read
        if data:
            self._queue.put_nowait(data)

    async def _pump(self) -> None:
        while True:
            data = await self._queue.get()
            if self.rate_bps:
                await asyncio.sleep(len(data) / self.rate_bps)
            reply = self.machine.receive(data)
            if reply:
                os.write(self.master, reply)
            self._idle.arm()

    async def stop(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        if self._task is not None:
            self._task.cancel()
        self._idle.cancel()
        os.close(self.master)
        os.close(self._slave)
