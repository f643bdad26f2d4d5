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
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.app import create_app
from central.auth import Role, apikeys
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.ingest.worker import IngestWorker
from central.settings import BrokerSettings
from gateway.daemon import Gateway
from gateway.outbox import Outbox
from gateway.settings import (
    DownlinkSettings,
    GatewaySettings,
    MetricsSettings,
    MqttSettings,
    OutboxSettings,
    StatusSettings,
)
from m2c import demo_meters
from m2c.demo_channels import ChatDemo
from m2c.mosquitto import Mosquitto
from m2c.payments_demo import PaymentsDemo
from m2c.printing_demo import print_demo

DRAIN_S = 20.0  # at stop, how long central may take to store what the broker took


@dataclass(frozen=True)
class Counts:
    """One consistent view: ``ingested`` is sampled before ``published``, and a reading central
    stored has reached the broker even if its PUBACK is still on its way to the gateway."""

    produced: int
    buffered: int
    published: int
    ingested: int

    def line(self, elapsed: float) -> str:
        return (
            f"  [{elapsed:5.0f}s] produced {self.produced:6d}  buffered {self.buffered:5d}"
            f"  published {self.published:6d}  ingested {self.ingested:6d}"
        )


def _ingested(worker: IngestWorker) -> int:
    """Readings central has accounted for: new, repeated, or conflicting with a stored one."""
    totals = worker.totals
    return totals.readings_new + totals.duplicates + totals.conflicts


async def _counts(gateway: Gateway, worker: IngestWorker, outbox: Outbox | None = None) -> Counts:
    ingested = _ingested(worker)
    stats = await asyncio.to_thread((outbox or gateway.outbox).stats)
    published = max(gateway.uplink.published, ingested)
    return Counts(gateway.produced, stats.depth, published, ingested)


async def _drain(worker: IngestWorker, published: int, timeout_s: float) -> int:
    """Wait until central accounted for every reading the broker acknowledged (or timeout);
    returns how many it still has not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    # the ingest worker is a thread with no completion event to await: look ten times a second
    while _ingested(worker) < published and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    return max(0, published - _ingested(worker))


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path = Path("var/demo")
    http_port: int = 8080
    meters: int = 4
    period_s: float = 2.0
    duration_s: float | None = None
    drain_s: float = DRAIN_S


def _demo_key(engine: Engine) -> str:
    """An admin API key for this run of the demo (its database is new each run)."""
    with Session(engine) as session:
        _row, key = apikeys.create(session, "demo-admin", [Role.ADMIN], clock=_now)
        session.commit()
    return key


def _now() -> datetime:
    return datetime.now(UTC)


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
    key = _demo_key(engine)
    (work / "api-key").write_text(key + "\n")
    (work / "api-key").chmod(0o600)
    worker = IngestWorker(BrokerSettings(port=broker.port), engine)
    worker.start()
    chat = ChatDemo(work)
    payments = PaymentsDemo(f"http://127.0.0.1:{options.http_port}")  # VNPay and bank sims
    app = create_app(engine, channels=chat.settings(), payments=payments.settings)
    app.state.notifier = chat.start(engine)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=options.http_port, log_config=None)
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
    print(f"  an admin API key for this run is in {work / 'api-key'}:", file=out)
    print(f"       export M2C_KEY=$(cat {work / 'api-key'})", file=out)
    print(
        f'  try: curl -H "X-API-Key: $M2C_KEY" '
        f"'{base}/api/v1/meters/sdm630-1/readings?quantity=energy_import'",
        file=out,
    )
    print(
        f"       open {base}/docs for the API (Authorize: paste the key as apiKey); Ctrl-C to stop",
        file=out,
    )
    printed = await print_demo(work / "printouts", transport="ble")
    print(
        f"  printed a bill notice and a signed receipt over simulated Bluetooth: "
        f"{', '.join(str(p) for p in printed.pngs)}",
        file=out,
    )
    await chat.converse(engine, base, out=out)
    print(
        "  payments:\n" + await asyncio.to_thread(lambda: payments.run(engine, api_key=key)),
        file=out,
    )
    started = time.monotonic()
    gateway_stopped = False
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            counts = await _counts(gateway, worker)
            print(counts.line(time.monotonic() - started), file=out, flush=True)
            elapsed = time.monotonic() - started
            if options.duration_s is not None and elapsed >= options.duration_s:
                break
        # stop polling and publishing, then let central store what the broker took
        gateway.stop()
        await gw_task
        gateway_stopped = True
        published = gateway.uplink.published
        missing = await _drain(worker, published, options.drain_s)
        # what the gateway will find in its outbox when it starts again
        left = Outbox(settings.outbox.path, gateway_id=settings.gateway_id)
        try:
            final = await _counts(gateway, worker, left)
        finally:
            left.close()
    finally:
        if not gateway_stopped:
            gateway.stop()
            await gw_task
        server.should_exit = True
        await api_task
        worker.stop()
        chat.close()
        payments.stop()
        await sims.aclose()
        broker.stop()
        engine.dispose()
    print(final.line(time.monotonic() - started), file=out)
    if missing:
        print(
            f"  {missing} published readings were not yet stored when central stopped after "
            f"{options.drain_s:.0f} s; the broker keeps them for central's next start",
            file=out,
        )
    if final.buffered:
        print(
            f"  {final.buffered} readings stay in the gateway outbox; "
            "the gateway sends them when it starts again",
            file=out,
        )
    print(
        f"demo stopped: {final.produced} readings produced, {final.published} published, "
        f"{final.ingested} stored by central ({worker.stored} new) in {work / 'central.db'}; "
        f"gateway outbox {work / 'gateway' / 'outbox.db'}; printouts in {work / 'printouts'}",
        file=out,
    )
    return 0
