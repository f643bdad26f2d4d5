"""Helpers shared by the benchmarks: RSS sampling, an uplink run in a thread."""

from __future__ import annotations

import resource
import time

from gateway.uplink import Uplink
from tests.support.uplink import running


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def wait_connected(uplink: Uplink, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not uplink.connected:
        if time.monotonic() > deadline:
            raise RuntimeError("uplink did not connect")
        time.sleep(0.02)


__all__ = ["peak_rss_mb", "rss_mb", "running", "wait_connected"]
