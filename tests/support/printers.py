"""Simulated printers on every transport, started inside a running event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from drivers.printers.ble import BlePrinter, find_printer
from simulators.ble.air import VirtualAir
from simulators.ble.backend import client_backend, scanner_backend
from simulators.printer.ble import BlePrinterSim
from simulators.printer.machine import PrinterMachine


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
