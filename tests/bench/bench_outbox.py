"""Outbox throughput: readings/s written (one fsync'd transaction per batch) and readings/s
drained to a private local Mosquitto with acknowledgement before delete.

    python -m tests.bench.bench_outbox [--drain 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from gateway.outbox import Outbox, Quota
from gateway.settings import MqttSettings
from gateway.uplink import Uplink
from m2c.mosquitto import Mosquitto
from tests.bench.common import running, wait_connected
from tests.support.central_ingest import central_ingest
from tests.support.readings import reading


def write_rate(folder: Path, batch: int, total: int) -> float:
    box = Outbox(folder / f"w{batch}.db", gateway_id="bench", quota=Quota(max_items=10**8))
    readings = [reading(k) for k in range(total)]
    t = time.perf_counter()
    for i in range(0, total, batch):
        box.put(readings[i : i + batch])
    rate = total / (time.perf_counter() - t)
    box.close()
    return rate


def drain_rate(folder: Path, total: int, max_batch: int) -> tuple[float, int]:
    broker = Mosquitto(folder / "mq")
    broker.start()
    box = Outbox(folder / f"d{max_batch}.db", gateway_id="bench", quota=Quota(max_items=10**8))
    for i in range(0, total, 10_000):
        box.put([reading(k) for k in range(i, min(i + 10_000, total))])
    settings = MqttSettings(port=broker.port, rate_limit_msgs_s=100_000, max_inflight=50)
    uplink = Uplink(settings, "bench", box, max_batch=max_batch, max_message_bytes=4 * 2**20)
    try:  # through a real central (SQLite): a reading leaves only on its confirmation
        with central_ingest(broker.port, folder / f"c{max_batch}.db"), running(uplink):
            wait_connected(uplink)
            t = time.perf_counter()
            while box.stats().depth:
                time.sleep(0.01)
            elapsed = time.perf_counter() - t
    finally:
        broker.kill()
    assert uplink.published == total, (uplink.published, total)
    return total / elapsed, uplink.messages_acked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=int, default=20_000)
    parser.add_argument("--drain", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("outbox write (synchronous=FULL, WAL; one transaction = one fsync per batch)")
        for batch in (1, 10, 100, 1000):
            n = min(args.write, 2000 * batch)
            print(f"  batch {batch:5d}: {write_rate(folder, batch, n):10,.0f} readings/s")
        print(
            f"outbox drain to a local Mosquitto and central ingest (SQLite), deleted on"
            f" central's confirmation ({args.drain:,} readings)"
        )
        for max_batch in (100, 500, 2000):
            rate, messages = drain_rate(folder / f"b{max_batch}", args.drain, max_batch)
            print(
                f"  {max_batch:5d} readings/message: {rate:10,.0f} readings/s ({messages} PUBACKs)"
            )


if __name__ == "__main__":
    main()
