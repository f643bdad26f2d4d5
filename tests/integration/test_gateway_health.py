"""One health path in the daemon: a dead Modbus TCP meter is down in the status file and the
metrics with its scheduler's counters, and each outage puts exactly one ``device_down`` and one
``device_up`` on the outbox's events channel, a bus restart in the middle included."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from contract.mqtt import Command, Event
from gateway.daemon import Gateway
from gateway.settings import GatewaySettings
from gateway.status import read_status, render
from simulators.modbus.meter import MeterSpec
from simulators.modbus.tcp import ModbusTcpSimulator
from tests.support.broker import free_port
from tests.support.mqtt import wait_for
from tests.support.procs import LoopThread
from tests.support.signing import CENTRAL_PUBLIC, signed_bytes


def _events(outbox: Path) -> list[Event]:
    db = sqlite3.connect(f"file:{outbox}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute("SELECT body FROM items WHERE channel = 'events' ORDER BY id").fetchall()
    finally:
        db.close()
    return [Event.model_validate_json(body) for (body,) in rows]


def test_a_meter_outage_through_status_metrics_and_events(tmp_path: Path) -> None:
    meter_port = free_port()
    cfg = tmp_path / "gw.toml"
    cfg.write_text(f"""
gateway_id = "gw-h"
[mqtt]
port = {free_port()}
[outbox]
path = "{tmp_path / "outbox.db"}"
[metrics]
port = 0
[status]
path = "{tmp_path / "status.json"}"
interval_s = 0.1
[downlink]
central_keys = ["{CENTRAL_PUBLIC}"]
[[buses]]
kind = "modbus-tcp"
name = "lan"
host = "127.0.0.1"
port = {meter_port}
period_s = 0.1
jitter = 0
meters = [{{ id = "sdm-1", model = "eastron-sdm630", unit_id = 1 }}]
[[synthetic]]
id = "syn-a"
period_s = 0.01
count = 4
""")
    from m2c.configfile import load

    settings = load(GatewaySettings, cfg)
    gateway = Gateway(settings)
    sim = ModbusTcpSimulator([MeterSpec(1, "eastron-sdm630")], port=meter_port)
    loop = LoopThread()
    run = asyncio.run_coroutine_threadsafe(gateway.run(), loop.loop)

    def command(kind: str, **args: Any) -> None:
        cmd = Command(id=f"c-{kind}-{len(_events(settings.outbox.path))}", kind=kind, args=args)
        loop.run(gateway.downlink.handle(signed_bytes(cmd, "gw-h")))

    def device(meter: str) -> dict[str, Any] | None:
        report = read_status(settings)
        found = [d for d in report.get("status", {}).get("devices", []) if d["id"] == meter]
        return found[0] if found else None

    def metric(name: str, **labels: str) -> float | None:
        text = httpx.get(f"http://127.0.0.1:{gateway.metrics_port}/metrics", timeout=5).text
        wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
        m = re.search(rf"^{name}{{{re.escape(wanted)}}} (\S+)$", text, re.MULTILINE)
        return float(m.group(1)) if m else None

    def outages() -> list[tuple[str, str]]:
        return [
            (e.kind, e.subject)
            for e in _events(settings.outbox.path)
            if e.kind.startswith("device_")
        ]

    try:
        # Dead from the start: down after three refused connections, then backed off (30 s).
        dead = wait_for(lambda: (d := device("sdm-1")) and d["state"] == "down" and d, 10, "down")
        assert (dead["up"], dead["reads"], dead["failures"]) == (False, 3, 3)
        assert dead["errors"] == {"connection": 3}
        assert "connection" in dead["last_error"]
        wait_for(lambda: gateway.metrics_port, 5, "metrics endpoint")
        assert metric("m2c_device_up", device="sdm-1") == 0
        assert metric("m2c_device_errors_total", device="sdm-1", kind="connection") == 3
        assert metric("m2c_poll_errors_total", bus="lan", device="sdm-1", kind="connection") == 3
        assert metric("m2c_device_reads_total", device="sdm-1") == 0
        syn = wait_for(lambda: (d := device("syn-a")) and d["readings"] == 8 and d, 5, "syn-a")
        assert (syn["up"], syn["reads"]) == (True, 4)
        assert metric("m2c_device_reads_total", device="syn-a") == 4
        assert "DOWN sdm-1: down, 3 reads (3 failed), last error:" in render(read_status(settings))
        assert outages() == [("device_down", "sdm-1")]
        down = next(e for e in _events(settings.outbox.path) if e.kind == "device_down")
        assert (down.severity, down.detail["bus"], down.detail["kind"]) == (
            "warning",
            "lan",
            "connection",
        )

        # Restarted while still dead: the new scheduler carries the record on, tries once more
        # (the restart's own try) and backs off again; still the same outage.
        command("restart_bus", bus="lan")
        again = wait_for(lambda: (d := device("sdm-1")) and d["reads"] == 4 and d, 10, "a try")
        assert (again["state"], again["failures"], again["errors"]) == (
            "down",
            4,
            {"connection": 4},
        )
        assert metric("m2c_poll_errors_total", bus="lan", device="sdm-1", kind="connection") == 4
        assert outages() == [("device_down", "sdm-1")]

        # The meter answers; restarted again, the fresh scheduler's first read ends the outage.
        loop.run(sim.start())
        command("restart_bus", bus="lan")
        wait_for(lambda: len(outages()) == 2, 10, "device_up")
        assert outages() == [("device_down", "sdm-1"), ("device_up", "sdm-1")]
        wait_for(lambda: (d := device("sdm-1")) and d["up"], 5, "sdm-1 up in the status")
        assert metric("m2c_device_up", device="sdm-1") == 1

        # A second outage: one more down when it stops answering, one more up when it is back.
        loop.run(sim.stop())
        wait_for(lambda: (d := device("sdm-1")) and d["state"] == "down", 10, "down again")
        loop.run(sim.start())
        command("read_now", meter_id="sdm-1")  # past the back-off
        wait_for(lambda: len(outages()) == 4, 10, "the second device_up")
        assert outages() == [("device_down", "sdm-1"), ("device_up", "sdm-1")] * 2
        *_, up = [e for e in _events(settings.outbox.path) if e.kind == "device_up"]
        assert up.severity == "info"
        assert up.detail["down_s"] > 0
        kinds = {e.kind for e in _events(settings.outbox.path)}
        assert kinds == {"device_down", "device_up", "bus_restarted"}
    finally:
        loop.loop.call_soon_threadsafe(gateway.stop)
        run.result(15)
        loop.run(sim.stop())
        loop.close()
