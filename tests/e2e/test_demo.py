"""``m2c demo``: the progress line never shows more ingested than published, and the demo
drains central before its final line, which accounts for every published reading."""

import asyncio
import io
import re
import socket
from pathlib import Path

from m2c.demo import DemoOptions, run

LINE = re.compile(r"published\s+(\d+)\s+ingested\s+(\d+)")
FINAL = re.compile(r"(\d+) readings produced, (\d+) published, (\d+) stored by central")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_counts_are_consistent_and_drained_at_stop(tmp_path: Path) -> None:
    out = io.StringIO()
    options = DemoOptions(
        workdir=tmp_path / "demo", http_port=_free_port(), meters=2, period_s=0.5, duration_s=4
    )
    assert asyncio.run(run(options, out=out)) == 0
    text = out.getvalue()
    progress = [(int(p), int(i)) for p, i in LINE.findall(text)]
    assert len(progress) >= 3, text
    assert all(ingested <= published for published, ingested in progress), text
    final = FINAL.search(text)
    assert final is not None, text
    produced, published, stored = (int(x) for x in final.groups())
    assert published > 0
    assert stored == published, text  # drained: nothing published is left unstored
    assert produced >= published
    assert "not yet stored" not in text
