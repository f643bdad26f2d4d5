"""The systemd watchdog of central's ingest, over a real notification socket: READY at start,
WATCHDOG pings only while the worker is healthy, STOPPING at the end."""

from __future__ import annotations

import socket
from pathlib import Path

from central.ingest.watchdog import Watchdog, notify


def _received(sock: socket.socket, n: int) -> list[str]:
    sock.settimeout(10)
    return [sock.recv(256).decode() for _ in range(n)]


def test_pings_only_while_healthy(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        healthy = [True]
        env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "100000"}  # ping every 50 ms
        dog = Watchdog(lambda: healthy[0], env=env)
        dog.start()
        try:
            assert _received(sock, 3) == ["READY=1", "WATCHDOG=1", "WATCHDOG=1"]
            healthy[0] = False
            got = _received(sock, 6)
            # At most one ping already on its way when the worker died; then none.
            assert got[-3:] == ["STATUS=ingest unhealthy"] * 3
            assert dog.withheld >= 3
        finally:
            dog.stop()
        rest = _received(sock, 1)
        while rest[-1] != "STOPPING=1":
            rest += _received(sock, 1)


def test_without_systemd_nothing_is_sent() -> None:
    assert notify("READY=1", env={}) is False
    dog = Watchdog(lambda: True, env={})
    dog.start()
    assert dog.interval_s is None
    dog.stop()


def test_a_silent_store_thread_is_not_alive(tmp_path: Path) -> None:
    import threading

    from central.db.engine import make_engine
    from central.ingest.worker import IngestWorker
    from central.settings import BrokerSettings

    now = [1000.0]
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    worker = IngestWorker(BrokerSettings(port=1), engine, stall_s=120, clock=lambda: now[0])
    hung = threading.Event()
    thread = threading.Thread(target=hung.wait)  # a store thread stuck in a call
    thread.start()
    try:
        worker._thread = thread
        worker.heartbeat = now[0]
        assert worker.health().alive
        now[0] += 121  # silent past stall_s
        assert not worker.health().alive
        assert not worker.health().ok
    finally:
        hung.set()
        thread.join(5)
        engine.dispose()
