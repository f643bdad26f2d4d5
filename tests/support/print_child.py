"""A gateway print worker in its own process, for kill -9 tests: ``db port``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from drivers.printers.tcp import TcpPrinter
from gateway.printing.queue import PrintQueue
from gateway.printing.worker import PrintWorker


async def main(db: Path, port: int) -> None:
    queue = PrintQueue(db)
    worker = PrintWorker(queue, "counter", TcpPrinter("127.0.0.1", port, status_timeout=60))
    print("ready", flush=True)
    await worker.step()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
