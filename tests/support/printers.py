"""Simulated printers on every transport, started inside a running event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from drivers.printers.ble import BlePrinter, find_printer
from simulators.ble.air import VirtualAir
from simulators.ble.backend import client_backend, scanner_backend
from simulators.printer.ble import BlePrinterSim
from simulators.printer.machine import PrintedJob, PrinterMachine


@asynccontextmanager
async def ble_printer(
    out: Path | None = None, *, width: int = 384, mtu: int = 247, **sim_options: object
) -> AsyncIterator[tuple[BlePrinterSim, BlePrinter]]:
    """A simulated BLE printer and a real bleak-based transport found by scanning for it."""
    air = VirtualAir()
    machine = PrinterMachine(width, out_dir=out)
    sim = BlePrinterSim(air, machine, **sim_options)  # type: ignore[arg-type]
    await sim.start()
    device = await find_printer(backend=scanner_backend(air), scan_s=5)
    printer = BlePrinter(device, backend=client_backend(air, mtu=mtu), reconnect_delay=0.01)
    try:
        yield sim, printer
    finally:
        await printer.close()
        await sim.stop()


class WatchedMachine(PrinterMachine):
    """A simulated printer that says when it has taken ``mark`` bytes (:attr:`reached`) and
    when a job has ended (:attr:`job_ended`), so tests wait on events, not on time."""

    def __init__(self, width: int = 384, *, mark: int = 0, **options: object) -> None:
        super().__init__(width, on_job=self._ended, **options)  # type: ignore[arg-type]
        self.mark = mark
        self.reached = asyncio.Event()
        self.job_ended = asyncio.Event()

    def _ended(self, _job: PrintedJob) -> None:
        self.job_ended.set()

    def receive(self, data: bytes) -> bytes:
        reply = super().receive(data)
        if self.mark and self.bytes_received >= self.mark:
            self.reached.set()
        return reply
