"""The gateway daemon in-process against a private Mosquitto: readings, events and command
replies go out through the outbox; Prometheus metrics; the status file and ``m2c gateway
status``; commands from central including a configuration push."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx

from contract import mqtt as contract
from gateway.daemon import Gateway
from gateway.settings import GatewaySettings
from tests.support.broker import Mosquitto, free_port
from tests.support.mqtt import Collector, wait_for
from tests.support.procs import ROOT, LoopThread
from tests.support.signing import CENTRAL_PUBLIC, signed_bytes


def test_daemon_end_to_end_operations(tmp_path: Path, mosquitto: Mosquitto) -> None:
    dead_port = free_port()  # nothing listens: the SDM630 there is down
    cfg = tmp_path / "gw.toml"
    cfg.write_text(f"""
gateway_id = "gw-ops"
[mqtt]
port = {mosquitto.port}
[outbox]
path = "{tmp_path / "outbox.db"}"
[metrics]
port = 0
[status]
path = "{tmp_path / "status.json"}"
interval_s = 0.5
[downlink]
pushed_config = "{tmp_path / "pushed.json"}"
central_keys = ["{CENTRAL_PUBLIC}"]
[[buses]]
kind = "modbus-tcp"
name = "lan"
host = "127.0.0.1"
port = {dead_port}
period_s = 0.5
meters = [{{ id = "sdm-dead", model = "eastron-sdm630", unit_id = 1 }}]
[[synthetic]]
id = "syn-a"
period_s = 0.02
count = 30
""")
    from m2c.configfile import load

    settings = load(GatewaySettings, cfg)
    collector = Collector(mosquitto.port, "m2c/v1/gw/gw-ops/#")
    levels: list[str] = []
    gateway = Gateway(settings, set_log_level=levels.append)
    loop = LoopThread()
    loop.spawn(gateway.run)
    try:

        def readings_of(meter: str) -> int:
            n = 0
            for p in collector.on("/readings"):
                batch = contract.ReadingsBatch.model_validate_json(p)
                n += sum(r.meter_id == meter for r in batch.readings)
            return n

        wait_for(lambda: readings_of("syn-a") == 60, 15, "syn-a's 60 readings")
        events = lambda: [contract.Event.model_validate_json(p) for p in collector.on("/events")]  # noqa: E731
        wait_for(lambda: any(e.kind == "device_down" for e in events()), 10, "device_down")
        assert [e.subject for e in events() if e.kind == "device_down"] == ["sdm-dead"]

        # Prometheus
        wait_for(lambda: gateway.metrics_port, 5, "metrics endpoint")
        text = httpx.get(f"http://127.0.0.1:{gateway.metrics_port}/metrics", timeout=5).text
        assert 'm2c_outbox_depth{channel="readings"}' in text
        assert 'm2c_device_up{device="sdm-dead"} 0.0' in text
        assert 'm2c_device_reads_total{device="syn-a"}' in text or "m2c_device_reads" in text
        assert "m2c_uplink_connected 1.0" in text
        assert 'm2c_device_errors_total{device="sdm-dead",kind="connection"}' in text

        # Status for a person at the Pi, from another process.
        wait_for(lambda: (tmp_path / "status.json").exists(), 5, "status file")
        out = subprocess.run(
            [sys.executable, "-m", "m2c", "gateway", "status", "-c", str(cfg)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "daemon running" in out.stdout
        assert "connected (MQTT 5)" in out.stdout
        assert "DOWN sdm-dead" in out.stdout

        # Commands from central.
        cmd_topic = contract.topic("gw-ops", "cmd")
        for command in (
            contract.Command(id="c-read", kind="read_now", args={"meter_id": "nope"}),
            contract.Command(id="c-log", kind="set_log_level", args={"level": "debug"}),
            contract.Command(id="c-bus", kind="restart_bus", args={"bus": "lan"}),
            contract.Command(id="c-bus2", kind="restart_bus", args={"bus": "attic"}),
            contract.Command(
                id="c-cfg",
                kind="config",
                args={"settings": {"synthetic": [{"id": "syn-b", "period_s": 0.02, "count": 10}]}},
            ),
        ):
            collector.publish(cmd_topic, signed_bytes(command, "gw-ops"))
        collector.publish(cmd_topic, b"garbage")

        def replies() -> dict[str, contract.CommandReply]:
            rs = [contract.CommandReply.model_validate_json(p) for p in collector.on("/replies")]
            return {r.command_id: r for r in rs}

        wait_for(lambda: len(replies()) == 6, 10, "six replies")
        r = replies()
        assert (r["c-read"].ok, r["c-log"].ok, r["c-cfg"].ok, r[""].ok) == (
            False,
            True,
            True,
            False,
        )
        assert "nope" in r["c-read"].reason
        assert r["c-bus"].ok, r["c-bus"].reason
        assert not r["c-bus2"].ok
        assert "attic" in r["c-bus2"].reason
        wait_for(lambda: any(e.kind == "bus_restarted" for e in events()), 10, "bus_restarted")
        assert [e.subject for e in events() if e.kind == "bus_restarted"] == ["lan"]
        assert "malformed" in r[""].reason
        assert levels == ["debug"]
        wait_for(lambda: readings_of("syn-b") == 20, 10, "the pushed meter's readings")
        assert json.loads((tmp_path / "pushed.json").read_text())["synthetic"][0]["id"] == "syn-b"
    finally:
        loop.loop.call_soon_threadsafe(gateway.stop)
        asyncio.run(asyncio.sleep(1.0))
        loop.close()
        collector.close()
    status = [contract.GatewayStatus.model_validate_json(p) for p in collector.on("/status")]
    assert status[0].state == "online"
    assert status[-1].state == "offline"
