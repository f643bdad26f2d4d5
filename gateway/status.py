"""``m2c gateway status``: what a person at the Pi needs to see, without the daemon's help.

Reads the status file the daemon rewrites every ``status.interval_s`` and, independently, the
outbox file (read-only), so it works whether the daemon runs, hangs or is stopped.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from gateway.polling.health import DeviceHealth
from gateway.settings import GatewaySettings


def device_entry(h: DeviceHealth) -> dict[str, Any]:
    """One device in the status file: its poller's health record."""
    return {
        "id": h.device_id,
        "state": h.state,
        "up": h.up,
        "reads": h.reads,
        "failures": h.failures,
        "readings": h.readings,
        "errors": h.errors,
        "last_error": h.last_error,
        "last_ok": h.last_ok_at.isoformat() if h.last_ok_at else None,
    }


def outbox_figures(settings: GatewaySettings) -> dict[str, Any]:
    path = settings.outbox.path
    if not path.exists():
        return {"error": f"{path} does not exist"}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            row = db.execute("SELECT created FROM items ORDER BY id LIMIT 1").fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        return {"error": f"{path}: {exc}"}
    now = datetime.now(UTC).timestamp()
    return {
        "depth": meta.get("depth", 0),
        "readings_waiting": meta.get("depth:readings", 0),
        "written": meta.get("written", 0),
        "acked": meta.get("acked", 0),
        "dropped": meta.get("dropped", 0),
        "oldest_age_s": round(now - row[0], 1) if row else 0.0,
    }


def read_status(settings: GatewaySettings) -> dict[str, Any]:
    report: dict[str, Any] = {"gateway_id": settings.gateway_id}
    path = settings.status.path
    try:
        daemon = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        daemon = None
        report["daemon"] = f"no status file ({exc})"
    if daemon is not None:
        age = (datetime.now(UTC) - datetime.fromisoformat(daemon["updated"])).total_seconds()
        fresh = age <= 3 * settings.status.interval_s + 1
        report["daemon"] = "running" if fresh else f"not running (status {age:.0f} s old)"
        report["status"] = daemon
    report["outbox"] = outbox_figures(settings)
    running = report["daemon"] == "running"
    connected = running and bool(report["status"]["mqtt"]["connected"])
    report["healthy"] = connected and "error" not in report["outbox"]
    return report


def _device_line(d: dict[str, Any]) -> str:
    if d["up"]:
        mark, state = "up  ", ""
    elif d["reads"]:
        mark, state = "DOWN", f"{d['state']}, " if "state" in d else ""
    else:
        mark, state = "new ", ""
    failed = f" ({d['failures']} failed)" if d.get("failures") else ""
    err = f", last error: {d['last_error']}" if d["last_error"] else ""
    return f"  {mark} {d['id']}: {state}{d['reads']} reads{failed}{err}"


def render(report: dict[str, Any]) -> str:
    lines = [f"gateway {report['gateway_id']}: daemon {report['daemon']}"]
    status = report.get("status")
    if status and report["daemon"] == "running":
        m = status["mqtt"]
        state = "connected" if m["connected"] else "NOT connected"
        lines.append(
            f"  broker {m['broker']}: {state} (MQTT {m['protocol']}),"
            f" {m['acks_pending']} acks pending, {m['readings_acked']} readings acked since start"
        )
        if status.get("metrics_port"):
            lines.append(f"  metrics: http://127.0.0.1:{status['metrics_port']}/metrics")
        for d in status["devices"]:
            lines.append(_device_line(d))
        if status["outbox"].get("recovered_from"):
            lines.append(f"  outbox was replaced at start: {status['outbox']['recovered_from']}")
    o = report["outbox"]
    if "error" in o:
        lines.append(f"  outbox: {o['error']}")
    else:
        lines.append(
            f"  outbox: {o['readings_waiting']} readings waiting (oldest {o['oldest_age_s']} s),"
            f" {o['written']} written, {o['acked']} acked, {o['dropped']} dropped by quota"
        )
    lines.append("  healthy" if report["healthy"] else "  NOT healthy")
    return "\n".join(lines)
