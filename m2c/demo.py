"""The demo: the whole system on simulators, in one process, with real sockets.

A private Mosquitto, simulated meters, a gateway with its outbox, and central (REST API on
http://127.0.0.1:8080 and an ingest worker) on SQLite under ``./var/demo``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import uvicorn

from central.app import create_app
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.ingest.worker import IngestWorker
from central.settings import BrokerSettings
from gateway.daemon import Gateway
from gateway.settings import (
    DownlinkSettings,
    GatewaySettings,
    MetricsSettings,
    MqttSettings,
    OutboxSettings,
    StatusSettings,
)
from m2c import demo_meters
from m2c.mosquitto import Mosquitto
from m2c.payments_demo import PaymentsDemo
from m2c.printing_demo import print_demo


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path = Path("var/demo")
    http_port: int = 8080
    meters: int = 4
    period_s: float = 2.0
    duration_s: float | None = None


async def run(options: DemoOptions, *, out: TextIO = sys.stdout) -> int:
    work = options.workdir
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    sims = AsyncExitStack()
    buses = await demo_meters.start(sims, electricity=options.meters, period_s=options.period_s)
    meter_ids = [m.id for bus in buses for m in bus.meters]

    engine = make_engine(f"sqlite:///{work / 'central.db'}")
    await asyncio.to_thread(upgrade, engine)
    worker = IngestWorker(BrokerSettings(port=broker.port), engine)
    worker.start()
    payments = PaymentsDemo(f"http://127.0.0.1:{options.http_port}")  # VNPay and bank sims
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(engine, payments=payments.settings),
            host="127.0.0.1",
            port=options.http_port,
            log_config=None,
        )
    )
    api_task = asyncio.create_task(server.serve())

    settings = GatewaySettings(
        gateway_id="demo-gw",
        mqtt=MqttSettings(port=broker.port),
        outbox=OutboxSettings(path=work / "gateway" / "outbox.db"),
        metrics=MetricsSettings(port=0),
        status=StatusSettings(path=work / "gateway" / "status.json"),
        downlink=DownlinkSettings(pushed_config=work / "gateway" / "pushed-config.json"),
        buses=tuple(buses),
    )
    gateway = Gateway(settings)
    gw_task = asyncio.create_task(gateway.run())

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    base = f"http://127.0.0.1:{options.http_port}"
    print(
        f"meter2cash demo: {len(meter_ids)} simulated meters on Modbus TCP, Modbus RTU, "
        f"IEC 62056-21 and M-Bus ({', '.join(meter_ids)}); Mosquitto on {broker.port}, "
        f"central on {base}",
        file=out,
    )
    print(f"  try: curl {base}/api/v1/meters/sdm630-1/readings?quantity=energy_import", file=out)
    print(f"       open {base}/docs for the API; Ctrl-C to stop", file=out)
    printed = await print_demo(work / "printouts", transport="ble")
    print(
        f"  printed a bill notice and a signed receipt over simulated Bluetooth: "
        f"{', '.join(str(p) for p in printed.pngs)}",
        file=out,
    )
    print("  payments:\n" + await asyncio.to_thread(payments.run, engine), file=out)
    started = time.monotonic()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            stats = await asyncio.to_thread(gateway.outbox.stats)
            elapsed = time.monotonic() - started
            print(
                f"  [{elapsed:5.0f}s] produced {gateway.produced:6d}  buffered {stats.depth:5d}"
                f"  published {gateway.uplink.published:6d}  ingested {worker.stored:6d}",
                file=out,
                flush=True,
            )
            if options.duration_s is not None and elapsed >= options.duration_s:
                break
    finally:
        gateway.stop()
        await gw_task
        server.should_exit = True
        await api_task
        worker.stop()
        payments.stop()
        await sims.aclose()
        broker.stop()
        engine.dispose()
    print(
        f"demo stopped: {worker.stored} readings in {work / 'central.db'}; "
        f"gateway outbox {work / 'gateway' / 'outbox.db'}; printouts in {work / 'printouts'}",
        file=out,
    )
    return 0
