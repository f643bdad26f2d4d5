"""Run an uplink's publish loop in a thread for the length of a ``with`` block."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.uplink import Uplink


@contextmanager
def running(uplink: Uplink, *, join_s: float = 30) -> Iterator[None]:
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(uplink.run(stop),))
    uplink.start()
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(join_s)
        loop.close()
        uplink.stop()
