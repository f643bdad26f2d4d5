"""A process that writes to an outbox and says what is committed, for the power-cut test.

Prints ``C <first> <last>`` after a put of readings first..last returned (committed), ``I <msg>``
before acknowledging a message and ``A <msg> <first> <last>`` after. Run as
``python -m tests.support.outbox_writer <path> <seed>``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from gateway.outbox import Outbox, Quota
from tests.support.readings import number, reading


def main() -> None:
    path, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    box = Outbox(path, gateway_id="gw-pc", quota=Quota(max_items=10**7))
    start = int(box.checkpoint("next") or 0)
    out = sys.stdout
    out.write(f"R {start}\n")
    out.flush()
    k = start
    while True:
        n = rng.randint(1, 60)
        q = "voltage_l1" if rng.random() < 0.3 else "energy_import"
        box.put([reading(i, quantity=q) for i in range(k, k + n)], checkpoint=("next", str(k + n)))
        out.write(f"C {k} {k + n - 1}\n")
        out.flush()
        k += n
        if rng.random() < 0.5:
            m = box.next_message("readings", max_items=rng.randint(1, 80), max_bytes=10**6)
            if m is not None and rng.random() < 0.7:
                nums = [number(r) for r in m.readings()]
                out.write(f"I {m.msg}\n")
                out.flush()
                box.acknowledge([m.msg])
                out.write(f"A {m.msg} {' '.join(map(str, nums))}\n")
                out.flush()


if __name__ == "__main__":
    main()
