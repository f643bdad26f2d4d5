"""Through a broker crash: Mosquitto is SIGKILLed again and again, its persistence file left as
a power cut leaves it (saved once a minute, so everything it acknowledged since is gone),
while gateway processes publish and central comes and goes. A PUBACK is only the broker's
word: every reading committed to an outbox must still end at central, exactly once, because a
reading leaves the outbox only on central's confirmation.

The same run with the outbox deleting on PUBACK (``confirmed_channels = []``) loses readings:
the second test shows the crash is real and the first one's result is not luck."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.broker import Mosquitto, free_port
from tests.support.procs import m2c, stop

GATEWAYS = 2
SAMPLES = 800  # per meter; 2 meters x 2 quantities per gateway
BASE = datetime(2026, 1, 1, tzinfo=UTC)
QUANTITIES = ("energy_import", "voltage_l1")


def _value(quantity: str, n: int) -> float:
    return round(n * 0.25, 4) if quantity.startswith("energy") else round(230.0 + (n % 20) * 0.5, 4)


def _want() -> dict[tuple[str, str, datetime], float]:
    return {
        (f"crash-{g}-{m}", q, BASE + timedelta(minutes=n)): _value(q, n)
        for g in range(GATEWAYS)
        for m in range(2)
        for q in QUANTITIES
        for n in range(SAMPLES)
    }


def _gateway_config(tmp: Path, n: int, port: int, confirmed: str) -> Path:
    meters = "".join(
        f"""
[[synthetic]]
id = "crash-{n}-{m}"
quantities = ["energy_import", "voltage_l1"]
period_s = 0.05
samples_per_read = 2
step_s = 60.0
count = {SAMPLES}
"""
        for m in range(2)
    )
    path = tmp / f"gw{n}.toml"
    path.write_text(f"""
gateway_id = "crash-{n}"
[mqtt]
port = {port}
keepalive_s = 5
reconnect_min_s = 0.2
reconnect_max_s = 1.0
max_inflight = 10
confirmed_channels = {confirmed}
confirm_timeout_s = 3.0
[outbox]
path = "{tmp / f"gw{n}" / "outbox.db"}"
max_batch = 50
[metrics]
port = 0
[status]
path = "{tmp / f"gw{n}" / "status.json"}"
interval_s = 1.0
[downlink]
pushed_config = "{tmp / f"gw{n}" / "pushed.json"}"
{meters}""")
    return path


def _rows(db: Path) -> list[tuple[str, str, str, float]]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("SELECT meter_id, quantity, ts, value FROM readings").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _outbox_items(tmp: Path, n: int) -> int:
    conn = sqlite3.connect(tmp / f"gw{n}" / "outbox.db", timeout=30)
    try:
        return int(
            conn.execute("SELECT COUNT(*) FROM items WHERE channel = 'readings'").fetchone()[0]
        )
    finally:
        conn.close()


def _wait_for_log(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"{path.name}: no {text!r} within {timeout} s"
        time.sleep(0.1)


def _run(tmp_path: Path, confirmed: str, *, settle_s: float) -> dict[str, Any]:
    broker = Mosquitto(tmp_path / "mq")
    # As a power cut leaves it: the file is saved once a minute, never at a clean shutdown.
    conf = broker.conf.read_text().replace("autosave_interval 1", "autosave_interval 60")
    broker.conf.write_text(conf)
    broker.start()
    db = tmp_path / "central.db"
    central_cfg = tmp_path / "central.toml"

    def central_config() -> str:
        # A new HTTP port at every start: a port freed by a stopped central may meanwhile be
        # the local end of some outgoing connection.
        central_cfg.write_text(f"""
database_url = "sqlite:///{db}"
[broker]
port = {broker.port}
client_id = "crash-central"
[http]
port = {free_port()}
""")
        return str(central_cfg)

    log = tmp_path / "central.log"
    configs = [_gateway_config(tmp_path, n, broker.port, confirmed) for n in range(GATEWAYS)]
    events: list[str] = []
    t0 = time.monotonic()

    def at(second: float, what: str) -> None:
        time.sleep(max(0.0, second - (time.monotonic() - t0)))
        events.append(f"{time.monotonic() - t0:5.1f}s {what}")

    def central() -> subprocess.Popen[bytes]:
        return m2c("central", "run", "-c", central_config(), log=log)

    def gateway(n: int) -> subprocess.Popen[bytes]:
        return m2c("gateway", "run", "-c", str(configs[n]), log=tmp_path / f"gw{n}.log")

    def crash() -> None:
        broker.kill()  # SIGKILL: nothing saved since the last autosave
        broker.start()

    cen = central()
    _wait_for_log(log, "ingest subscribed", 30)
    t0 = time.monotonic()
    gws = [gateway(n) for n in range(GATEWAYS)]
    want = _want()
    try:
        at(3, "broker SIGKILL")
        crash()
        at(6, "central stopped")
        assert stop(cen) == 0
        at(10, "broker SIGKILL (what it kept for central is gone)")
        crash()
        at(11, "central started")
        cen = central()
        at(14, "gateway 0 and the broker SIGKILLed together")
        gws[0].kill()
        gws[0].wait()
        crash()
        gws[0] = gateway(0)
        at(18, "broker SIGKILL")
        crash()
        deadline = time.monotonic() + settle_s
        rows = _rows(db)
        while time.monotonic() < deadline and len(rows) < len(want):
            time.sleep(0.5)
            rows = _rows(db)
        time.sleep(2.0)  # anything late (a duplicate would show now)
        rows = _rows(db)
    finally:
        codes = [stop(p) for p in gws]
        central_rc = stop(cen)
        broker.kill()
    got: dict[tuple[str, str, datetime], float] = {}
    duplicates = 0
    for m, q, ts, value in rows:
        key = (m, q, datetime.fromisoformat(ts).replace(tzinfo=UTC))
        duplicates += key in got
        got[key] = value
    missing = set(want) - set(got)
    report = {
        "produced": len(want),
        "rows": len(rows),
        "missing": len(missing),
        "unexpected": len(set(got) - set(want)),
        "duplicates": duplicates,
        "wrong_values": sum(got[k] != v for k, v in want.items() if k in got),
        "left_in_outboxes": sum(_outbox_items(tmp_path, n) for n in range(GATEWAYS)),
        "codes": codes,
        "central_rc": central_rc,
    }
    print(f"\nbroker crash ({confirmed=}) timeline:\n  " + "\n  ".join(events))
    print(f"broker crash ({confirmed=}): {report}")
    return report


@pytest.mark.slow
def test_every_committed_reading_is_stored_once_through_broker_crashes(tmp_path: Path) -> None:
    # A bound, not a wait: the loop ends as soon as central holds every reading. A message
    # lost with the broker is sent again after its confirmation timeout (30 s, doubling).
    report = _run(tmp_path, '["readings"]', settle_s=300)
    assert report["codes"] == [0] * GATEWAYS
    assert report["central_rc"] == 0
    assert report["missing"] == 0
    assert report["unexpected"] == 0
    assert report["duplicates"] == 0
    assert report["wrong_values"] == 0
    assert report["rows"] == report["produced"]
    assert report["left_in_outboxes"] == 0


@pytest.mark.slow
def test_deleting_on_puback_loses_what_the_crashed_broker_had_acknowledged(tmp_path: Path) -> None:
    report = _run(tmp_path, "[]", settle_s=25)
    assert report["missing"] > 0  # the broker's word was not enough
    assert report["left_in_outboxes"] == 0  # ... and the gateways no longer hold them
