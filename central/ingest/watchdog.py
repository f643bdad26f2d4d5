"""The systemd watchdog for a process that runs an ingest worker.

With ``Type=notify`` and ``WatchdogSec=`` systemd sets ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC``:
the process says ``READY=1`` once started, then ``WATCHDOG=1`` at half the interval — but only
while the worker is alive. A store thread that died or hangs stops the pings, and systemd
kills and restarts the service (``Restart=always``). Without systemd this does nothing.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping

import structlog

log = structlog.get_logger(__name__)


def notify(message: str, *, env: Mapping[str, str] = os.environ) -> bool:
    """Send ``message`` to systemd's notification socket; False when there is none."""
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto(message.encode(), address)
        except OSError as exc:
            log.warning("systemd notification failed", error=str(exc))
            return False
    return True


class Watchdog:
    def __init__(self, healthy: Callable[[], bool], *, env: Mapping[str, str] = os.environ) -> None:
        self.healthy = healthy
        self.env = env
        usec = env.get("WATCHDOG_USEC", "")
        self.interval_s = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
        self.pings = 0
        self.withheld = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        notify("READY=1", env=self.env)
        if self.interval_s is None:
            return
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.interval_s is not None
        while not self._stop.wait(self.interval_s):
            if self.healthy():
                notify("WATCHDOG=1", env=self.env)
                self.pings += 1
            else:
                self.withheld += 1
                if self.withheld == 1 or self.withheld % 10 == 0:
                    log.error("ingest unhealthy: watchdog not fed", withheld=self.withheld)
                notify("STATUS=ingest unhealthy", env=self.env)

    def stop(self) -> None:
        notify("STOPPING=1", env=self.env)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
