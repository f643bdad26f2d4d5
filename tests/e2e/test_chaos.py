"""Chaos: three gateway processes with deterministic synthetic meters, a private Mosquitto with
persistence, and central. While they run, the broker restarts three times, a gateway is killed
with SIGKILL twice (and restarted), and central is stopped for a while. At the end central holds
exactly the readings the meters produced: same count, same identities, same values, no
duplicates, no sequence gaps — and the test prints the numbers."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from central.auth import Role
from central.db.engine import make_engine
from central.db.migrate import upgrade
from gateway.polling.synthetic import expected, value_of
from gateway.settings import SyntheticMeter
from tests.support.auth import key_headers
from tests.support.broker import Mosquitto, free_port
from tests.support.procs import m2c, stop

GATEWAYS = 3
SAMPLES = 1200  # per meter; 2 meters x 2 quantities per gateway


def _gateway_config(tmp: Path, n: int, broker_port: int) -> tuple[Path, list[SyntheticMeter]]:
    specs = [
        SyntheticMeter(
            id=f"syn-{n}-{m}",
            quantities=("energy_import", "voltage_l1"),
            period_s=0.05,
            samples_per_read=2,
            step_s=60.0,
            base_ts=datetime(2026, 1, 1, tzinfo=UTC),
            count=SAMPLES,
        )
        for m in range(2)
    ]
    meters = "".join(
        f"""
[[synthetic]]
id = "{s.id}"
quantities = ["energy_import", "voltage_l1"]
period_s = {s.period_s}
samples_per_read = {s.samples_per_read}
step_s = {s.step_s}
count = {s.count}
"""
        for s in specs
    )
    path = tmp / f"gw{n}.toml"
    path.write_text(f"""
gateway_id = "chaos-{n}"
[mqtt]
port = {broker_port}
keepalive_s = 5
reconnect_min_s = 0.2
reconnect_max_s = 2.0
max_inflight = 10
[outbox]
path = "{tmp / f"gw{n}" / "outbox.db"}"
max_batch = 100
[metrics]
port = 0
[status]
path = "{tmp / f"gw{n}" / "status.json"}"
interval_s = 1.0
[downlink]
pushed_config = "{tmp / f"gw{n}" / "pushed.json"}"
{meters}""")
    return path, specs


def _rows(db: Path) -> list[tuple[str, str, str, float]]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("SELECT meter_id, quantity, ts, value FROM readings").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


@pytest.mark.slow
def test_every_reading_arrives_exactly_once_through_chaos(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    db = tmp_path / "central.db"
    central_cfg = tmp_path / "central.toml"
    http_port = 0

    def central_config() -> str:
        # A new HTTP port at every start: a port freed by a stopped central may meanwhile be
        # the local end of some outgoing connection.
        nonlocal http_port
        http_port = free_port()
        central_cfg.write_text(f"""
database_url = "sqlite:///{db}"
[identity]
command_key = "{tmp_path / "command-key.pem"}"
[broker]
port = {mosquitto.port}
client_id = "chaos-central"
[http]
port = {http_port}
[auth]
generated_secret_file = "{tmp_path / "auth-secret"}"
""")
        return str(central_cfg)

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    headers = key_headers(engine, Role.AUDITOR)
    engine.dispose()

    configs = [_gateway_config(tmp_path, n, mosquitto.port) for n in range(GATEWAYS)]
    want: set[tuple[str, str, str]] = set()
    for _, specs in configs:
        for spec in specs:
            want |= expected(spec)

    def central() -> subprocess.Popen[bytes]:
        return m2c("central", "run", "-c", central_config(), log=tmp_path / "central.log")

    def gateway(n: int) -> subprocess.Popen[bytes]:
        return m2c("gateway", "run", "-c", str(configs[n][0]), log=tmp_path / f"gw{n}.log")

    t0 = time.monotonic()
    events: list[str] = []

    def at(second: float, what: str) -> None:
        time.sleep(max(0.0, second - (time.monotonic() - t0)))
        events.append(f"{time.monotonic() - t0:5.1f}s {what}")

    cen = central()
    # Central's first subscription creates its session: from then on the broker keeps what
    # arrives for it. (A gateway that published before that would show as a gap at central.)
    deadline = time.monotonic() + 20
    while "ingest subscribed" not in (tmp_path / "central.log").read_text():
        assert time.monotonic() < deadline, "central did not subscribe"
        time.sleep(0.1)
    t0 = time.monotonic()
    gws = [gateway(n) for n in range(GATEWAYS)]
    try:
        at(4, "broker restart")
        mosquitto.restart()
        at(8, "kill -9 gateway 0")
        gws[0].kill()
        gws[0].wait()
        at(9, "gateway 0 restarted")
        gws[0] = gateway(0)
        at(11, "central stopped")
        assert stop(cen) == 0
        at(14, "broker restart (central away)")
        mosquitto.restart()
        at(18, "central started")
        cen = central()
        at(21, "kill -9 gateway 1")
        gws[1].kill()
        gws[1].wait()
        at(22, "gateway 1 restarted")
        gws[1] = gateway(1)
        at(25, "kill -9 gateway 0 again")
        gws[0].kill()
        gws[0].wait()
        at(26, "gateway 0 restarted")
        gws[0] = gateway(0)
        at(29, "broker restart")
        mosquitto.restart()
        deadline = time.monotonic() + 60
        rows = _rows(db)
        while time.monotonic() < deadline:
            rows = _rows(db)
            if len(rows) >= len(want):
                break
            time.sleep(0.5)
        time.sleep(1.5)  # anything late (a duplicate would show now)
        rows = _rows(db)
        api = f"http://127.0.0.1:{http_port}/api/v1"
        with httpx.Client(base_url=api, headers=headers, timeout=5) as client:
            gateways = client.get("/gateways").json()
            gaps = {
                g["gateway_id"]: client.get(f"/gateways/{g['gateway_id']}/gaps").json()
                for g in gateways
            }
            quarantine = client.get("/ingest/quarantine").json()["total"]
            conflicts = client.get("/ingest/conflicts").json()
        elapsed = time.monotonic() - t0
    finally:
        codes = [stop(p) for p in gws]
        central_rc = stop(cen)
    got = {
        (m, q, datetime.fromisoformat(ts).replace(tzinfo=UTC).isoformat()) for m, q, ts, _ in rows
    }
    bad_values = [
        r
        for r in rows
        if r[3]
        != value_of(
            r[1],
            int(
                (
                    datetime.fromisoformat(r[2]).replace(tzinfo=UTC)
                    - datetime(2026, 1, 1, tzinfo=UTC)
                ).total_seconds()
                // 60
            ),
        )
    ]
    print("\nchaos timeline:\n  " + "\n  ".join(events))
    print(
        f"chaos: produced {len(want)} readings on {GATEWAYS} gateways; central holds {len(rows)}"
        f" rows, {len(got)} distinct identities; missing {len(want - got)}, unexpected"
        f" {len(got - want)}, duplicates {len(rows) - len(got)}, wrong values {len(bad_values)},"
        f" open gaps {sum(len(g) for g in gaps.values())}, quarantined {quarantine},"
        f" conflicts {len(conflicts)}; {elapsed:.0f} s"
    )
    logs = {n: (tmp_path / f"gw{n}.log").read_text() for n in range(GATEWAYS)}
    assert all(c == 0 for c in codes), codes
    assert central_rc == 0, (tmp_path / "central.log").read_text()[-3000:]
    assert not any("Traceback" in text for text in logs.values())
    assert len(rows) == len(want)
    assert got == want
    assert bad_values == []
    assert quarantine == 0
    assert conflicts == []
    assert all(g == [] for g in gaps.values()), gaps
    assert sorted(g["gateway_id"] for g in gateways) == [f"chaos-{n}" for n in range(GATEWAYS)]
    assert all(g["state"] == "online" for g in gateways)
