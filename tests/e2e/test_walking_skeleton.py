"""A reading travels from a simulated SDM630 to central's REST API, every part real:
a Modbus TCP simulator, the gateway and central as separate processes, a private Mosquitto,
SQLite or PostgreSQL."""

from __future__ import annotations

import struct
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from central.auth import Role
from central.db.engine import make_engine
from central.db.migrate import upgrade
from simulators.modbus import MeterSpec, ModbusTcpSimulator
from tests.support.auth import key_headers
from tests.support.broker import Mosquitto, free_port
from tests.support.procs import LoopThread, m2c, stop


def _wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    timeout = max(timeout, 60.0)  # the idle-machine figure; a loaded machine is slower
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def test_readings_arrive_intact_with_the_meters_timestamps(
    tmp_path: Path, mosquitto: Mosquitto, db_url: str
) -> None:
    sims = LoopThread()
    server = ModbusTcpSimulator([MeterSpec(7, "eastron-sdm630", seed=1, energy_start=4321.0)])
    sims.run(server.start())
    meter = server.bus.meters[7]
    http_port = free_port()
    (tmp_path / "gw.toml").write_text(f"""
gateway_id = "e2e-gw"
[mqtt]
port = {mosquitto.port}
[outbox]
path = "{tmp_path / "outbox.db"}"
[[buses]]
kind = "modbus-tcp"
name = "lan"
host = "127.0.0.1"
port = {server.port}
period_s = 0.5
meters = [{{ id = "sdm630-e2e", model = "eastron-sdm630", unit_id = 7 }}]
""")
    (tmp_path / "central.toml").write_text(f"""
database_url = "{db_url}"
[identity]
command_key = "{tmp_path / "command-key.pem"}"
[broker]
port = {mosquitto.port}
[http]
port = {http_port}
[auth]
generated_secret_file = "{tmp_path / "auth-secret"}"
""")
    engine = make_engine(db_url)
    upgrade(engine)
    headers = key_headers(engine, Role.METER_READER)
    engine.dispose()
    started = datetime.now(UTC)
    central = m2c(
        "central", "run", "-c", str(tmp_path / "central.toml"), log=tmp_path / "central.log"
    )
    gateway = m2c("gateway", "run", "-c", str(tmp_path / "gw.toml"), log=tmp_path / "gw.log")
    url = f"http://127.0.0.1:{http_port}/api/v1/meters/sdm630-e2e/readings"
    try:

        def energy_rows() -> list[dict[str, object]]:
            try:
                rsp = httpx.get(
                    url, params={"quantity": "energy_import"}, headers=headers, timeout=2
                )
            except httpx.HTTPError:
                return []
            return rsp.json() if rsp.status_code == 200 and len(rsp.json()) >= 3 else []

        rows = _wait_for(energy_rows, 40, "three energy readings through central")
        health = httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2).json()
    finally:
        gw_rc = stop(gateway)
        central_rc = stop(central)
        sims.run(server.stop())
        sims.close()
    assert health["status"] == "ok"
    assert gw_rc == 0, (tmp_path / "gw.log").read_text()[-3000:]
    assert central_rc == 0, (tmp_path / "central.log").read_text()[-3000:]
    stamps = [datetime.fromisoformat(r["ts"]) for r in rows]
    values = [float(r["value"]) for r in rows]  # type: ignore[arg-type]
    # Newest first, distinct times from the read, taken after the test began.
    assert stamps == sorted(stamps, reverse=True)
    assert len(set(stamps)) == len(stamps)
    assert all(started <= ts <= datetime.now(UTC) for ts in stamps)
    # Energy only rises, and the value is what the meter's float32 register held.
    assert values == sorted(values, reverse=True)
    assert 4321.0 * 0.5 <= values[-1] <= meter.counters["energy_import"] + 1e-3
    float32 = struct.unpack(">f", struct.pack(">f", values[0]))[0]
    assert abs(float32 - values[0]) < 1e-3
    assert all(r["unit"] == "kWh" and r["gateway_id"] == "e2e-gw" for r in rows)
    assert all("time_from_gateway" in r["quality"] for r in rows)
