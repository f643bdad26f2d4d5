"""``m2c central run`` asked to stop while it is still starting (its ingest worker subscribed,
its API not yet up) exits cleanly, as it does once running: a loaded host takes seconds to
start the API, and systemd or a test may stop it in between."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.broker import Mosquitto, free_port
from tests.support.procs import m2c, stop


def test_sigterm_right_after_the_ingest_worker_subscribed_exits_0(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    config = tmp_path / "central.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "central.db"}"\n'
        f"[broker]\nport = {mosquitto.port}\n[http]\nport = {free_port()}\n"
    )
    log = tmp_path / "central.log"
    proc = m2c("central", "run", "-c", str(config), log=log)
    try:
        deadline = time.monotonic() + 120
        while "ingest subscribed" not in log.read_text():  # the log is the only signal
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "central did not subscribe"
            time.sleep(0.01)
    finally:
        code = stop(proc, timeout=120)
    assert code == 0, log.read_text()[-2000:]
