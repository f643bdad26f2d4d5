"""The gateway daemon: pollers hand readings to the outbox, the uplink drains it to the broker.

What plugs in (the composition root wires these; nothing here knows a protocol):

* ``await gateway.submit(readings, checkpoint=None)`` — a poller's readings, durable on return;
* ``gateway.on_event(kind, subject=..., severity=..., detail=...)`` — an event for central;
* ``await gateway.submit_payments(payments)`` — field payments (the cashier), exactly once;
* ``gateway.health`` — every device's health, read from the pollers' own records;
* ``gateway.add_poller(factory)`` — a coroutine ``factory(stop_event)`` run for the daemon's life;
* ``gateway.downlink.register(kind, handler)`` and ``gateway.register_reader(meter, trigger)``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import structlog
from prometheus_client import CollectorRegistry

from contract.mqtt import CommandReply, Event, FieldPayment, Reading
from drivers.modbus.models import ModelCatalog
from gateway import metrics
from gateway.cashier.app import CashierApp
from gateway.cashier.config import CashierFile
from gateway.cashier.link import CashierLink, to_event
from gateway.command_guard import CommandGuard
from gateway.downlink import CommandRejected, ConfigStore, Downlink, write_atomic
from gateway.health import DeviceRegistry
from gateway.outbox import Outbox, Quota
from gateway.polling.config import Bus, bus_name
from gateway.polling.factory import build_schedulers
from gateway.polling.health import DeviceHealth
from gateway.polling.scheduler import BusScheduler
from gateway.polling.synthetic import SyntheticMeterSource
from gateway.settings import GatewaySettings
from gateway.status import device_entry
from gateway.uplink import Uplink

log = structlog.get_logger(__name__)

PollerFactory = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
Severity = Literal["info", "warning", "error"]


class Notifier:
    """systemd's sd_notify (no-op outside systemd)."""

    def __init__(self) -> None:
        import sdnotify  # an edge dependency; imported here so central never needs it

        self._n = sdnotify.SystemdNotifier()

    def notify(self, state: str) -> None:
        self._n.notify(state)


def quota_of(settings: GatewaySettings) -> Quota:
    o = settings.outbox
    return Quota(
        max_items=o.max_items,
        max_bytes=o.max_bytes,
        policy=o.drop_policy,
        cumulative_prefixes=o.cumulative_prefixes,
        instantaneous_prefixes=o.instantaneous_prefixes,
    )


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        *,
        set_log_level: Callable[[str], None] | None = None,
        notifier: Notifier | None = None,
        software: str = "meter2cash",
    ) -> None:
        self.config = ConfigStore(settings, settings.downlink.pushed_config, apply=self._apply)
        settings = self.config.current  # the file, with what central pushed laid over it
        self.settings = settings
        self.gateway_id = settings.gateway_id
        self.notifier = notifier
        self.started = time.time()
        self.outbox = Outbox(
            settings.outbox.path, gateway_id=self.gateway_id, quota=quota_of(settings)
        )
        self.health = DeviceRegistry(self.gateway_id, records=self._records, publish=self.put_event)
        d = settings.downlink
        self.guard = CommandGuard.from_texts(
            self.gateway_id,
            d.central_keys,
            d.replay_db or settings.outbox.path.with_name("commands.db"),
            skew=timedelta(seconds=d.clock_skew_s),
        )
        if not d.central_keys:
            log.warning("no central command key configured: every command will be refused")
        self.downlink = Downlink(
            self.gateway_id,
            reply=self._reply,
            guard=self.guard,
            on_refused=self._refused,
            config=self.config,
            set_log_level=set_log_level,
        )
        self.downlink.register("read_now", self._read_now)
        self.downlink.register("restart_bus", self._restart_bus)
        self.uplink = Uplink(
            settings.mqtt,
            self.gateway_id,
            self.outbox,
            software=software,
            max_batch=settings.outbox.max_batch,
            max_message_bytes=settings.outbox.max_message_bytes,
            on_command=self._command_from_paho,
        )
        self.stop_event = asyncio.Event()
        self.produced = 0
        self.metrics_port: int | None = None
        self._pollers: list[PollerFactory] = []
        self._sources: list[asyncio.Task[None]] = []
        self._synthetic: list[SyntheticMeterSource] = []
        self._schedulers: list[BusScheduler] = []
        self._polls: list[asyncio.Task[None]] = []
        self.registry = CollectorRegistry(auto_describe=False)
        self._readers: dict[str, asyncio.Event] = {}
        self._commands: asyncio.Queue[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- what pollers, the cashier and schedulers call -------------------------------------------
    async def submit(
        self, readings: Sequence[Reading], *, checkpoint: tuple[str, str] | None = None
    ) -> None:
        """Durable when it returns (one fsync'd transaction)."""
        await asyncio.to_thread(self.outbox.put, readings, checkpoint=checkpoint)
        self.produced += len(readings)

    def on_event(
        self,
        kind: str,
        *,
        subject: str = "",
        severity: Severity = "info",
        detail: dict[str, Any] | None = None,
    ) -> None:
        event = Event(
            gateway_id=self.gateway_id,
            kind=kind,
            ts=datetime.now(UTC),
            subject=subject,
            severity=severity,
            detail=detail or {},
        )
        self.outbox.put_bodies("events", [event.model_dump_json()])

    async def submit_payments(self, payments: Sequence[FieldPayment]) -> None:
        bodies = [p.model_dump_json() for p in payments]
        await asyncio.to_thread(self.outbox.put_bodies, "payments", bodies)

    def put_event(self, event: Event) -> None:
        self.outbox.put_bodies("events", [event.model_dump_json()])

    def attach_cashier(self, app: CashierApp) -> CashierLink:
        """The field cashier: pushed bill caches in, field payments up (exactly once)."""
        link = CashierLink(app, submit_payments=self.submit_payments)
        self.downlink.register("bill_cache", link.bill_cache)
        self.downlink.register_command("print", link.print_command)
        self.add_poller(link.run)
        return link

    def add_poller(self, factory: PollerFactory) -> None:
        self._pollers.append(factory)

    def register_reader(self, meter_id: str, trigger: asyncio.Event) -> None:
        """``read_now`` for ``meter_id`` sets ``trigger``; the poller reads at once."""
        self._readers[meter_id] = trigger

    # -- downlink plumbing ----------------------------------------------------------------------
    def _command_from_paho(self, payload: bytes) -> None:
        loop, commands = self._loop, self._commands
        if loop is not None and commands is not None:
            loop.call_soon_threadsafe(commands.put_nowait, payload)

    def _reply(self, reply: CommandReply) -> None:
        self.outbox.put_bodies("replies", [reply.model_dump_json()])

    def _refused(self, command_id: str, kind: str, reason: str) -> None:
        """A command that failed the guard: an alert for central besides the reply."""
        self.on_event(
            "command_refused",
            subject=command_id[:128],
            severity="warning",
            detail={"refusal": kind, "reason": reason[:500]},
        )

    async def _serve_commands(self) -> None:
        assert self._commands is not None
        while True:
            payload = await self._commands.get()
            await self.downlink.handle(payload)

    # -- sources: bus schedulers for the configured meters, and the synthetic test meter -------
    def _build(
        self,
        settings: GatewaySettings,
        buses: Sequence[Bus],
        records: Mapping[str, DeviceHealth] | None = None,
    ) -> list[BusScheduler]:
        return build_schedulers(
            buses,
            sink=self.submit,
            on_event=self.health.on_health,
            registry=self.registry,
            catalog=ModelCatalog(settings.polling.meter_models),
            records=records,
        )

    def _start_sources(
        self, settings: GatewaySettings, records: Mapping[str, DeviceHealth] | None = None
    ) -> None:
        self._schedulers = self._build(settings, settings.polling.buses, records)
        self._polls = [asyncio.create_task(s.run()) for s in self._schedulers]
        for spec in settings.synthetic:
            source = SyntheticMeterSource(spec, submit=self.submit, position=self.outbox.checkpoint)
            self._synthetic.append(source)
            self._sources.append(asyncio.create_task(source.run(self.stop_event)))
        self.health.retain([h.device_id for h in self._records()])

    def _records(self) -> list[DeviceHealth]:
        """The live health record of every device, from the schedulers and synthetic meters."""
        records = [h for s in list(self._schedulers) for h in s.health().values()]
        return records + [s.health for s in list(self._synthetic)]

    async def _stop_sources(self) -> None:
        for scheduler in self._schedulers:
            scheduler.stop()  # a scheduler closes its transports as it ends
        for task in self._sources:
            task.cancel()
        await asyncio.gather(*self._polls, *self._sources, return_exceptions=True)
        self._polls.clear()
        self._sources.clear()
        self._synthetic.clear()
        self._schedulers.clear()

    async def _apply(self, settings: GatewaySettings) -> None:
        """Apply pushed settings: the buses and synthetic sources restart with the new lists.
        MQTT and outbox sections take effect at the next start."""
        records = {k: h for s in self._schedulers for k, h in s.health().items()}
        await self._stop_sources()
        self._start_sources(settings, records)

    async def _restart_bus(self, args: dict[str, Any]) -> str:
        """The ``restart_bus`` command: close the bus's port or connections and open them anew."""
        name = args.get("bus")
        settings = self.config.current
        buses = [b for b in settings.polling.buses if bus_name(b) == name]
        at = [i for i, s in enumerate(self._schedulers) if s.name == name]
        if not buses or not at:
            raise CommandRejected(f"no bus {name!r} on this gateway")
        i = at[0]
        self._schedulers[i].stop()  # closes its transports as it ends
        await self._polls[i]
        (fresh,) = self._build(settings, buses, self._schedulers[i].health())
        self._schedulers[i] = fresh
        self._polls[i] = asyncio.create_task(fresh.run())
        self.on_event("bus_restarted", subject=str(name))
        return f"bus {name} restarted"

    async def _read_now(self, args: dict[str, Any]) -> str:
        meter = args.get("meter_id")
        trigger = self._readers.get(meter) if isinstance(meter, str) else None
        if trigger is not None:
            trigger.set()
            return f"read of {meter} requested"
        for scheduler in self._schedulers:
            if isinstance(meter, str) and scheduler.read_now(meter):
                return f"read of {meter} requested"
        raise CommandRejected(f"no meter {meter!r} on this gateway")

    # -- operations -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        stats = self.outbox.stats()
        return {
            "gateway_id": self.gateway_id,
            "pid": os.getpid(),
            "started": datetime.fromtimestamp(self.started, UTC).isoformat(),
            "updated": datetime.now(UTC).isoformat(),
            "mqtt": {
                "connected": self.uplink.connected,
                "protocol": self.uplink.protocol,
                "broker": f"{self.settings.mqtt.host}:{self.settings.mqtt.port}",
                "acks_pending": self.uplink.acks_pending,
                "readings_acked": self.uplink.published,
                "awaiting_central": self.uplink.awaiting_central,
                "resent_unconfirmed": self.uplink.resent_unconfirmed,
                "connects": self.uplink.connects,
            },
            "outbox": {
                "path": str(self.outbox.path),
                "depth": stats.depth,
                "by_channel": stats.by_channel,
                "oldest_age_s": round(stats.oldest_age_s, 1),
                "inflight": stats.inflight,
                "written": stats.written,
                "acked": stats.acked,
                "dropped": stats.dropped,
                "bytes": stats.file_bytes,
                "recovered_from": self.outbox.recovered_from,
            },
            "devices": [device_entry(h) for h in self.health.snapshot()],
            "metrics_port": self.metrics_port,
        }

    async def _housekeeping(self) -> None:
        """Status file, systemd watchdog: both prove the event loop is alive."""
        watchdog = self.settings.watchdog_s
        usec = os.environ.get("WATCHDOG_USEC")
        if usec and usec.isdigit():
            watchdog = min(watchdog, int(usec) / 2e6)
        period = min(watchdog, self.settings.status.interval_s)
        path: Path = self.settings.status.path
        while True:
            status = self.status()
            try:
                await asyncio.to_thread(write_atomic, path, json.dumps(status, indent=1).encode())
            except OSError as exc:
                log.warning("status file not written", path=str(path), error=str(exc))
            if self.notifier is not None:
                self.notifier.notify("WATCHDOG=1")
            await asyncio.sleep(period)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._commands = asyncio.Queue()
        server = None
        if self.settings.metrics.enabled:
            collector = metrics.GatewayCollector(self.outbox, self.health, self.uplink)
            m = self.settings.metrics
            self.registry.register(collector)
            try:
                server, self.metrics_port = metrics.serve(self.registry, m.host, m.port)
            except OSError as exc:  # port taken: run without metrics rather than not at all
                log.error("metrics endpoint not started", port=m.port, error=str(exc))
                self.on_event("metrics_unavailable", severity="warning", detail={"error": str(exc)})
        self.uplink.start()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.uplink.run(self.stop_event))
                helpers = [
                    asyncio.create_task(self._serve_commands()),
                    asyncio.create_task(self._housekeeping()),
                ]
                for factory in self._pollers:
                    tasks.create_task(factory(self.stop_event))
                self._start_sources(self.config.current)
                if self.notifier is not None:
                    self.notifier.notify("READY=1")
                await self.stop_event.wait()
                for task in helpers:
                    task.cancel()
                await self._stop_sources()
        finally:
            if self.notifier is not None:
                self.notifier.notify("STOPPING=1")
            self.uplink.stop()
            self.outbox.close()
            self.guard.close()
            if server is not None:
                server.shutdown()
                server.server_close()

    def stop(self) -> None:
        self.stop_event.set()


async def serve_forever(
    settings: GatewaySettings,
    *,
    set_log_level: Callable[[str], None] | None = None,
    cashier: CashierFile | None = None,
) -> None:
    """Run until SIGINT or SIGTERM (what ``m2c gateway run`` and systemd use)."""
    gateway = Gateway(settings, set_log_level=set_log_level, notifier=Notifier())
    if cashier is not None:
        gateway.attach_cashier(
            CashierApp.build(
                cashier,
                on_event=lambda e: gateway.put_event(to_event(gateway.gateway_id, e)),
                on_outcome=lambda o: gateway.put_event(to_event(gateway.gateway_id, o)),
            )
        )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, gateway.stop)
    log.info(
        "gateway starting",
        gateway_id=settings.gateway_id,
        buses=len(settings.buses),
        synthetic=len(settings.synthetic),
    )
    await gateway.run()
