"""The unit files parse (``systemd-analyze verify`` when present) and keep their promises:
Type=notify with a watchdog, restart always, a sandbox with one writable directory."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

from tests.support.tools import require

UNITS = Path(__file__).resolve().parents[2] / "systemd"


def _unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text())
    return parser


def test_gateway_unit_is_notify_watchdog_and_sandboxed() -> None:
    service = _unit("meter2cash-gateway.service")["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "always"
    assert service["User"] == "meter2cash"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/meter2cash"
    assert service["ProtectHome"] == "yes"
    assert service["PrivateTmp"] == "yes"
    assert service["DevicePolicy"] == "closed"


def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    require("systemd-analyze", "systemd")
    names = []
    for unit in UNITS.glob("*.service"):
        text = unit.read_text().replace("/opt/meter2cash/.venv/bin/m2c", "/bin/true")
        (tmp_path / unit.name).write_text(text)
        names.append(str(tmp_path / unit.name))
    out = subprocess.run(
        ["systemd-analyze", "verify", *names],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    complaints = [line for line in out.stderr.splitlines() if str(tmp_path) in line]
    assert complaints == []
    # The check itself works: a broken copy is reported.
    bad = tmp_path / "broken.service"
    bad.write_text(
        (tmp_path / "meter2cash-gateway.service").read_text().replace("Type=notify", "Type=notifyy")
    )
    out = subprocess.run(
        ["systemd-analyze", "verify", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "notifyy" in out.stderr


SANDBOX_PREFIXES = ("Protect", "Private", "Restrict", "NoNewPrivileges", "SystemCall", "Capab")


def test_central_units_feed_a_watchdog_and_share_one_sandbox() -> None:
    central = _unit("meter2cash-central.service")["Service"]
    ingest = _unit("meter2cash-ingest@.service")["Service"]
    for service in (central, ingest):
        assert service["Type"] == "notify"
        assert service["NotifyAccess"] == "main"
        assert int(service["WatchdogSec"]) > 0
        assert service["Restart"] == "always"
    sandbox = {k: v for k, v in central.items() if k.startswith(SANDBOX_PREFIXES)}
    for key in (
        "ProtectClock",
        "ProtectKernelLogs",
        "ProtectHostname",
        "RestrictRealtime",
        "ProtectProc",
    ):
        assert key in sandbox, key
    assert {k: v for k, v in ingest.items() if k.startswith(SANDBOX_PREFIXES)} == sandbox
