"""Helpers shared by the Modbus benchmarks: a simulator in its own process, physical limits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from drivers.modbus.planner import Request


def transaction_s(req: Request, *, baud: int, bits_per_char: int, silence_s: float) -> float:
    """One FC03/04 transaction at the physical limit: request, 3.5 chars, response, silence."""
    char = bits_per_char / baud
    request = 8
    response = 5 + 2 * req.count
    return (request + response + 3.5) * char + max(silence_s, 3.5 * char)


def meter_read_s(
    requests: Sequence[Request], *, baud: int, bits_per_char: int, silence_s: float
) -> float:
    return sum(
        transaction_s(r, baud=baud, bits_per_char=bits_per_char, silence_s=silence_s)
        for r in requests
    )


def start_rtu_simulator(
    link: Path, units: str, model: str, *, baud: int, faults: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """``m2c sim modbus rtu --wire-timing`` in its own process (the other core)."""
    args = [
        sys.executable,
        "-m",
        "m2c",
        "--log-level",
        "warning",
        "sim",
        "modbus",
        "rtu",
        "--link",
        str(link),
        "--baud",
        str(baud),
        "--bits-per-char",
        "11",
        "--wire-timing",
        "--meter",
        f"{units}={model}",
    ]
    for f in faults:
        args += ["--fault", f]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": "."})
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if "serving" not in line:
        proc.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    deadline = time.monotonic() + 5
    while not link.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
