"""A client nobody here wrote, the PyPI package ``iec62056-21``, reads the IEC simulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from iec62056_21.client import Iec6205621Client

from simulators.iec_meter import IecBus, IecMeter, IecMeterSpec


def test_pypi_client_reads_the_simulated_meter_over_a_pty() -> None:
    meter = IecMeter(
        IecMeterSpec(address="4711", start_kwh=4321.5, tz_offset_h=0.0),
        clock=lambda: datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC),
    )

    async def body() -> object:
        async with IecBus([meter]) as bus:

            def read() -> object:
                client = Iec6205621Client.with_serial_transport(port=bus.path)
                client.connect()
                try:
                    return client.standard_readout()
                finally:
                    client.disconnect()

            answer = await asyncio.to_thread(read)
            assert bus.counters.readouts == 1
            return answer

    answer = asyncio.run(asyncio.wait_for(body(), 30))
    values = {d.address: (d.value, d.unit) for d in answer.data}  # type: ignore[attr-defined]
    assert values["1.8.0"] == ("004321.500", "kWh")
    assert values["0.0.0"] == ("4711", None)
    assert values["0.9.1"] == ("093015", None)
    assert values["0.9.2"] == ("260302", None)
    assert values["14.7.0"] == ("50.00", "Hz")
