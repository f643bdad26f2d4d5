"""Options shared by the serial meter simulators (``m2c sim iec``, ``m2c sim mbus``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

FAULTS = ("no_answer", "bad_checksum", "garble", "split", "stuck")


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--link",
        metavar="PATH",
        help="also make PATH (e.g. /tmp/ttyUSB0) a symlink to the simulated port",
    )
    parser.add_argument(
        "--wire-timing",
        action="store_true",
        help="pace answers at the speed the reader set, as a real line would",
    )
    parser.add_argument(
        "--tz-offset", type=float, default=7.0, help="hours east of UTC of the meters' clocks"
    )
    parser.add_argument(
        "--fault",
        action="append",
        choices=FAULTS,
        default=[],
        help="inject a fault in every meter (repeatable)",
    )
    parser.add_argument("--late", type=float, default=0.0, help="answer this many seconds late")
    parser.add_argument(
        "--clock-drift", type=float, default=0.0, help="meter clocks run this many seconds ahead"
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="stop after this many seconds (default: ^C)"
    )


def faults_from(args: Any) -> dict[str, Any]:
    chosen: dict[str, Any] = {name: name in args.fault for name in FAULTS}
    chosen["late_answer_s"] = args.late
    chosen["clock_drift_s"] = args.clock_drift
    return chosen


async def serve(bus: Any, banner: str, duration: float | None) -> None:
    """Start ``bus``, print where it is, run until ``duration`` or SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bus.start()
    try:
        print(f"{banner} on {bus.path}", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
    finally:
        await bus.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print(f"counters: {bus.counters}", flush=True)
