"""Helpers shared by the benchmarks: RSS sampling, an uplink run in a thread."""

from __future__ import annotations

import asyncio
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.uplink import Uplink


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def running(uplink: Uplink) -> Iterator[None]:
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(uplink.run(stop),))
    uplink.start()
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
        uplink.stop()


def wait_connected(uplink: Uplink, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not uplink.connected:
        if time.monotonic() > deadline:
            raise RuntimeError("uplink did not connect")
        time.sleep(0.02)
