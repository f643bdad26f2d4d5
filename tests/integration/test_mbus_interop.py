"""A client nobody here wrote, pymeterbus, reads the M-Bus simulator over a pty.

pymeterbus configures the root logger on import, so it runs in its own process
(tests/support/pymeterbus_read.py) and prints its JSON decoding of the answer.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from simulators.mbus_meter import MbusBus, MbusMeter, MbusMeterSpec


def test_pymeterbus_reads_water_by_primary_and_heat_by_secondary_address() -> None:
    def clock() -> datetime:
        return datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    meters = [
        MbusMeter(MbusMeterSpec(primary=1, id=12345678, start=321.5), clock=clock),
        MbusMeter(
            MbusMeterSpec(primary=7, id=55501234, kind="heat", start=4321.0, mean_rate=5.0),
            clock=clock,
        ),
    ]

    async def body() -> list[dict[str, Any]]:
        async with MbusBus(meters) as bus:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.support.pymeterbus_read",
                bus.path,
                "1",
                "55501234FFFFFFFF",
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        decoded: list[dict[str, Any]] = json.loads(out)
        return decoded

    water, heat = asyncio.run(asyncio.wait_for(body(), 30))
    assert water["body"]["header"]["identification"] == "0x12, 0x34, 0x56, 0x78"
    assert water["body"]["header"]["manufacturer"] == "MCS"
    assert water["body"]["header"]["medium"] == "0x7"
    records = {(r["type"], r["storage_number"]): r["value"] for r in water["body"]["records"]}
    assert float(records["VIFUnit.VOLUME", 0]) == 321.5
    assert records["VIFUnit.DATE_TIME_GENERAL", 0] == "2026-03-02T08:00"  # the meter's local time
    assert records["VIFUnit.DATE", 1] == "2026-03-01"
    assert heat["body"]["header"]["medium"] == "0x4"
    energy = [r for r in heat["body"]["records"] if r["type"] == "VIFUnit.ENERGY_WH"]
    assert float(energy[0]["value"]) == 4321000  # Wh
    temperatures = {r["type"]: r["value"] for r in heat["body"]["records"]}
    assert float(temperatures["VIFUnit.FLOW_TEMPERATURE"]) == 70
    assert float(temperatures["VIFUnit.RETURN_TEMPERATURE"]) == 50
