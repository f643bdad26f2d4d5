"""SIGKILL an outbox writer at random moments, many times: the file always opens, passes its
integrity check, and every reading whose commit was reported is still there (or was
acknowledged by the broker, i.e. the writer had started to acknowledge it).

SIGKILL ends the process between any two instructions; what it cannot show is a disk that
loses its cache — that is what ``synchronous=FULL`` (an fsync at each commit) is for.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gateway.outbox import Outbox
from tests.support.readings import number

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 30


def _run_and_kill(path: Path, seed: int, delay: float) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.outbox_writer", str(path), str(seed)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.split())
            ready.set()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert ready.wait(60), "writer did not start"
        time.sleep(delay)  # the power cut falls at a random point of the writing: by design
    finally:
        proc.send_signal(signal.SIGKILL)  # also when the writer never started: no leftover
        proc.wait()
        reader.join()
        proc.stdout.close()
    return lines  # type: ignore[return-value]


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_committed(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    path = tmp_path / "outbox.db"
    committed: set[int] = set()
    maybe_acked: set[int] = set()  # acknowledgement begun: may or may not have committed
    acked: set[int] = set()
    intents: dict[str, None] = {}
    for trial in range(TRIALS):
        lines = _run_and_kill(path, seed=trial, delay=rng.uniform(0.0, 0.25))
        assert lines[0][0] == "R"
        for parts in lines[1:]:
            if parts[0] == "C":
                committed.update(range(int(parts[1]), int(parts[2]) + 1))
            elif parts[0] == "I":
                intents[parts[1]] = None
            elif parts[0] == "A":
                acked.update(int(x) for x in parts[2:])
                intents.pop(parts[1], None)
        box = Outbox(path, gateway_id="gw-pc")
        assert box.recovered_from is None, f"trial {trial}: {box.recovered_from}"
        present = [number(r) for m in box.pending_messages() for r in m.readings()]
        while (m := box.next_message("readings", max_items=10**6, max_bytes=10**9)) is not None:
            present += [number(r) for r in m.readings()]
            # Leave it in flight: the next trial's writer must cope with that too.
        # Unacknowledged in-flight messages that a killed writer had begun to acknowledge:
        # the ids are unknown here, so anything missing must be explained by an open intent.
        assert len(present) == len(set(present)), f"trial {trial}: a reading is stored twice"
        assert not (set(present) & acked), f"trial {trial}: an acknowledged reading came back"
        missing = committed - set(present) - acked
        if missing:
            assert intents, f"trial {trial}: committed readings lost: {sorted(missing)[:10]}"
            maybe_acked |= missing
        stats = box.stats()
        box.close()
        # The writer resumes exactly after the last committed reading (checkpoint in the same
        # transaction): nothing committed is written twice, nothing skipped.
        assert set(range(max(committed) + 1)) <= committed | set(present) | acked | maybe_acked
        assert stats.written >= len(committed)
    print(
        f"\npower-cut: {TRIALS} SIGKILLs, {len(committed)} readings committed,"
        f" {len(acked)} acknowledged, {len(committed) - len(acked)} still in the outbox,"
        f" {len(maybe_acked)} in an interrupted acknowledgement; nothing lost"
    )
