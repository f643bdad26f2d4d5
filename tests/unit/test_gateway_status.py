"""``m2c gateway status`` tells the truth when the daemon is stopped or hung."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.outbox import Outbox
from gateway.settings import GatewaySettings, OutboxSettings, StatusSettings
from gateway.status import read_status, render
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
