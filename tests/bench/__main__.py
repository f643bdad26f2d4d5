"""Run the benchmarks: ``python -m tests.bench [NAME ...]`` (``./dev.sh bench``).

Each ``bench_*.py`` here is a program that prints its figures and the ratio to its goal or
physical limit. They are not tests: nothing here passes or fails on speed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    if not wanted:
        print(f"no benchmark matches {argv}; there are: {', '.join(names)}", file=sys.stderr)
        return 2
    failed = []
    for name in wanted:
        print(f"=== {name}", flush=True)
        started = time.monotonic()
        rc = subprocess.call([sys.executable, "-m", f"tests.bench.{name}"])
        print(f"=== {name}: exit {rc} after {time.monotonic() - started:.1f} s", flush=True)
        if rc:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
