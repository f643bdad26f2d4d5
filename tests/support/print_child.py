"""A gateway print worker in its own process, for kill -9 tests: ``db port [status_timeout]``.

Without a status timeout the transport keeps its defaults (what the gateway ships).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from drivers.printers.tcp import TcpPrinter
from gateway.printing.queue import PrintQueue
from gateway.printing.worker import PrintWorker


async def main(db: Path, port: int, status_timeout: float | None) -> None:
    queue = PrintQueue(db)
    transport = (
        TcpPrinter("127.0.0.1", port)
        if status_timeout is None
        else TcpPrinter("127.0.0.1", port, status_timeout=status_timeout)
    )
    worker = PrintWorker(queue, "counter", transport)
    print("ready", flush=True)
    await worker.step()


if __name__ == "__main__":
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else None
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), timeout))
