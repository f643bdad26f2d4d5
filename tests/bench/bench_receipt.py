"""Bytes per Vietnamese receipt with its QR, and time to print it over BLE at 10 kB/s.

    python -m tests.bench.bench_receipt

Goals (issue 5): at most 12 kB and 3 s on 58 mm paper. The time runs real bleak code over the
virtual bumble link against the simulated printer throttled to 10 000 bytes/s, from the first
byte to the printer's status confirming the job.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.escpos.profile import profile
from drivers.escpos.template import load_template
from gateway.printing.render import render_job
from simulators.printer.machine import PrinterMachine
from tests.support.documents import sample_receipt
from tests.support.printers import ble_printer

ROOT = Path(__file__).parents[2]
RATE = 10_000  # bytes/s
GOAL_BYTES, GOAL_S = 12_000, 3.0


def sizes() -> dict[str, tuple[int, int]]:
    template = load_template(ROOT / "config" / "templates" / "receipt.toml")
    receipt = sample_receipt(Ed25519PrivateKey.generate())
    out: dict[str, tuple[int, int]] = {}
    for name in ("generic-58", "qr-58", "generic-80", "raster-80"):
        prof = profile(name)
        data, _ = render_job(receipt, template, prof)
        machine = PrinterMachine(prof.width_dots)
        machine.receive(data)
        machine.flush()
        [job] = machine.jobs
        naive = prof.width_dots // 8 * job.image.height  # the page as one full-width image
        out[name] = (len(data), naive)
    return out


async def ble_time(data: bytes, mtu: int) -> tuple[float, int]:
    async with ble_printer(rate_bps=RATE, mtu=mtu) as (sim, printer):
        await printer.connect()
        start = time.perf_counter()
        await printer.write(data)
        status = await printer.read_status()
        elapsed = time.perf_counter() - start
        assert status.ready
        sim.machine.flush()
        assert len(sim.machine.jobs) == 1
        return elapsed, printer.chunk_size


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(
        prog="python -m tests.bench.bench_receipt",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=f"Goals: at most {GOAL_BYTES} bytes and {GOAL_S} s on 58 mm paper.",
    ).parse_args(argv)
    started = datetime.now(UTC)
    figures = sizes()
    print(f"receipt bytes (Vietnamese text, signed verification QR), {started:%Y-%m-%d}")
    print(f"{'profile':<12}{'bytes':>8}{'full-width raster':>20}{'ratio':>8}")
    for name, (size, naive) in figures.items():
        print(f"{name:<12}{size:>8}{naive:>20}{size / naive:>8.2f}")
    template = load_template(ROOT / "config" / "templates" / "receipt.toml")
    receipt = sample_receipt(Ed25519PrivateKey.generate())
    for name, mtu in (("generic-58", 247), ("generic-58", 23), ("qr-58", 247)):
        data, _ = render_job(receipt, template, profile(name))
        elapsed, chunk = asyncio.run(ble_time(data, mtu))
        print(
            f"BLE {name}: {len(data)} bytes in {elapsed:.2f} s at {RATE} B/s "
            f"(chunks of {chunk} B, write with response, status confirmed); "
            f"goal {GOAL_BYTES} B / {GOAL_S} s: "
            f"{'met' if len(data) <= GOAL_BYTES and elapsed <= GOAL_S else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
