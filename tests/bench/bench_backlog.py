"""A long outage: 1,000,000 readings wait in the outbox; the broker comes back. How long does
the drain take (goal: at most 60 s), and does memory stay flat (RSS sampled during the drain)?

    python -m tests.bench.bench_backlog [--readings 1000000] [--batch 500]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from gateway.outbox import Outbox, Quota
from gateway.settings import MqttSettings
from gateway.uplink import Uplink
from m2c.mosquitto import Mosquitto
from tests.bench.common import peak_rss_mb, rss_mb, running, wait_connected
from tests.support.readings import reading


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    total = args.readings
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        box = Outbox(folder / "outbox.db", gateway_id="bench", quota=Quota(max_items=10**8))
        t = time.perf_counter()
        meters = 200
        for i in range(0, total, 10_000):
            box.put(
                [
                    reading(k // meters, meter=f"m-{k % meters}")
                    for k in range(i, min(i + 10_000, total))
                ]
            )
        fill_s = time.perf_counter() - t
        stats = box.stats()
        print(
            f"backlog: {stats.depth:,} readings, {stats.file_bytes / 2**20:.0f} MiB outbox,"
            f" written in {fill_s:.1f} s"
        )
        broker = Mosquitto(folder / "mq")
        broker.start()
        # The gateway's side alone: messages leave on the PUBACK (no central in this process,
        # whose memory would be counted with the gateway's).
        settings = MqttSettings(
            port=broker.port, rate_limit_msgs_s=10_000, max_inflight=50, confirmed_channels=()
        )
        uplink = Uplink(settings, "bench", box, max_batch=args.batch, max_message_bytes=2**20)
        samples: list[tuple[float, float, int]] = []
        done = threading.Event()
        before = rss_mb()
        try:
            with running(uplink):
                wait_connected(uplink)
                t = time.perf_counter()

                def sample() -> None:
                    while not done.is_set():
                        samples.append((time.perf_counter() - t, rss_mb(), box.stats().depth))
                        done.wait(1.0)

                sampler = threading.Thread(target=sample)
                sampler.start()
                while box.stats().depth:
                    time.sleep(0.05)
                elapsed = time.perf_counter() - t
                done.set()
                sampler.join()
        finally:
            broker.kill()
    print(
        f"drained {uplink.published:,} readings in {elapsed:.1f} s"
        f" = {uplink.published / elapsed:,.0f} readings/s ({uplink.messages_acked} messages)"
    )
    print("  t(s)   RSS(MiB)  depth")
    for at, rss, depth in samples[:: max(1, len(samples) // 12)]:
        print(f"  {at:5.1f}  {rss:8.1f}  {depth:,}")
    during = [rss for _, rss, _ in samples]
    print(
        f"RSS before drain {before:.1f} MiB; during drain min {min(during):.1f}, max"
        f" {max(during):.1f} MiB; process peak RSS {peak_rss_mb():.1f} MiB"
        f" (the peak includes building the backlog)"
    )
    print(f"goal: 60 s -> {'met' if elapsed <= 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
