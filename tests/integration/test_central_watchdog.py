"""`m2c central run` and `m2c central ingest` as systemd runs them (Type=notify, WatchdogSec):
READY once started, WATCHDOG pings while ingest lives, STOPPING on SIGTERM, exit 0."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.broker import Mosquitto, free_port
from tests.support.procs import m2c, stop


@pytest.mark.parametrize("command", ["run", "ingest"])
def test_central_feeds_the_systemd_watchdog(
    tmp_path: Path, mosquitto: Mosquitto, command: str
) -> None:
    cfg = tmp_path / "central.toml"
    cfg.write_text(f"""
database_url = "sqlite:///{tmp_path / "central.db"}"
[broker]
port = {mosquitto.port}
client_id = "wd-{command}"
[http]
port = {free_port()}
""")
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(60)
        env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"}  # a ping every 0.2 s
        proc = m2c("central", command, "-c", str(cfg), log=tmp_path / "central.log", env=env)
        try:
            got = [sock.recv(256).decode() for _ in range(4)]
            assert got == ["READY=1", "WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"]
        finally:
            rc = stop(proc)
        rest: list[str] = []
        sock.settimeout(5)
        while "STOPPING=1" not in rest:
            rest.append(sock.recv(256).decode())
    assert rc == 0, (tmp_path / "central.log").read_text()[-2000:]
