"""``m2c gateway status`` tells the truth when the daemon is stopped or hung."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.outbox import Outbox
from gateway.polling.health import DeviceHealth
from gateway.settings import GatewaySettings, OutboxSettings, StatusSettings
from gateway.status import device_entry, read_status, render
from tests.support.readings import reading


def _settings(tmp: Path) -> GatewaySettings:
    return GatewaySettings(
        gateway_id="gw-st",
        outbox=OutboxSettings(path=tmp / "outbox.db"),
        status=StatusSettings(path=tmp / "status.json", interval_s=1),
    )


def test_stopped_daemon_and_waiting_readings(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    box = Outbox(settings.outbox.path, gateway_id="gw-st")
    box.put([reading(k) for k in range(7)])
    box.close()
    report = read_status(settings)
    assert report["daemon"].startswith("no status file")
    assert report["outbox"]["readings_waiting"] == 7
    assert report["healthy"] is False
    assert "7 readings waiting" in render(report)
    assert render(report).endswith("NOT healthy")


def test_a_stale_status_file_means_not_running(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    Outbox(settings.outbox.path, gateway_id="gw-st").close()
    old = (datetime.now(UTC) - timedelta(seconds=60)).isoformat()
    settings.status.path.write_text(json.dumps({"updated": old, "mqtt": {"connected": True}}))
    report = read_status(settings)
    assert report["daemon"].startswith("not running (status 60 s old")
    assert report["healthy"] is False


def test_missing_outbox_is_reported(tmp_path: Path) -> None:
    report = read_status(_settings(tmp_path))
    assert "does not exist" in report["outbox"]["error"]


def test_devices_are_shown_from_their_health_records(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    Outbox(settings.outbox.path, gateway_id="gw-st").close()
    now = datetime.now(UTC)
    dead, live, new = DeviceHealth("sdm-dead"), DeviceHealth("syn-a"), DeviceHealth("syn-b")
    dead.state, dead.reads, dead.failures, dead.consecutive_failures = "down", 3, 3, 3
    dead.errors, dead.last_error = {"connection": 3}, "sdm-dead: connection: refused"
    live.record_ok(2, now)
    status = {
        "updated": now.isoformat(),
        "mqtt": {
            "connected": True,
            "protocol": "5",
            "broker": "localhost:1883",
            "acks_pending": 0,
            "readings_acked": 0,
        },
        "outbox": {},
        "devices": [device_entry(h) for h in (dead, live, new)],
    }
    settings.status.path.write_text(json.dumps(status))
    report = read_status(settings)
    assert report["status"]["devices"][0] == {
        "id": "sdm-dead",
        "state": "down",
        "up": False,
        "reads": 3,
        "failures": 3,
        "readings": 0,
        "errors": {"connection": 3},
        "last_error": "sdm-dead: connection: refused",
        "last_ok": None,
    }
    assert report["status"]["devices"][1]["last_ok"] == now.isoformat()
    lines = render(report).splitlines()
    assert (
        "  DOWN sdm-dead: down, 3 reads (3 failed), last error: sdm-dead: connection: refused"
        in lines
    )
    assert "  up   syn-a: 1 reads" in lines
    assert "  new  syn-b: 0 reads" in lines
