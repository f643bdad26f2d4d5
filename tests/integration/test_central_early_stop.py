"""``m2c central run`` stopped while it is still starting (as systemd or a test may do) ends
cleanly with exit 0, not killed by the signal half-way."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.support.broker import Mosquitto, free_port
from tests.support.procs import m2c


def test_sigterm_during_start_is_a_clean_stop(tmp_path: Path, mosquitto: Mosquitto) -> None:
    cfg = tmp_path / "central.toml"
    cfg.write_text(
        f'database_url = "sqlite:///{tmp_path / "central.db"}"\n'
        f'[identity]\ncommand_key = "{tmp_path / "command-key.pem"}"\n'
        f'[broker]\nport = {mosquitto.port}\nclient_id = "m2c-central-early"\n'
        f"[http]\nport = {free_port()}\n"
    )
    log = tmp_path / "central.log"
    proc = m2c("central", "run", "-c", str(cfg), log=log)
    try:
        deadline = time.monotonic() + 60
        while "ingest subscribed" not in (log.read_text() if log.exists() else ""):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "central did not subscribe"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)  # the API is not serving yet
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
