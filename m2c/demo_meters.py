"""The demo's meters: every protocol, each on its simulator, and the gateway's buses for them.

Modbus TCP: SDM630 electricity meters and a Dynaflox ultraD water meter; Modbus RTU on a pty:
an SDM120 and an SDM72D sharing one line; IEC 62056-21 on a pty: one optical-port meter;
M-Bus on a pty: a water meter. The simulated meters' time runs faster, so values move.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from gateway.polling.config import ModbusRtuBus, ModbusTcpBus
from gateway.polling.serialbus import IecBusConfig, MbusBusConfig
from simulators.iec_meter import IecBus, IecMeter, IecMeterSpec
from simulators.mbus_meter import MbusBus, MbusMeter, MbusMeterSpec
from simulators.modbus import MeterSpec, ModbusRtuSimulator, ModbusTcpSimulator

SPEED = 60.0  # a simulated hour passes every real minute


async def start(stack: AsyncExitStack, *, electricity: int, period_s: float) -> list[Any]:
    """Start the simulators (stopped when ``stack`` closes); return the gateway's bus list."""
    tcp_specs = [
        MeterSpec(u, "eastron-sdm630", seed=u, energy_start=1000.0 * u, speed=SPEED)
        for u in range(1, electricity + 1)
    ]
    water_unit = electricity + 1
    tcp_specs.append(
        MeterSpec(water_unit, "dynaflox-ultrad", seed=99, energy_start=321.0, speed=SPEED)
    )
    tcp = await stack.enter_async_context(ModbusTcpSimulator(tcp_specs))
    rtu = await stack.enter_async_context(
        ModbusRtuSimulator(
            [
                MeterSpec(1, "eastron-sdm120", seed=11, speed=SPEED),
                MeterSpec(2, "eastron-sdm72d", seed=12, speed=SPEED),
            ],
            baud=9600,
        )
    )
    iec = await stack.enter_async_context(
        IecBus([IecMeter(IecMeterSpec(address="10000001"))], parity_on_wire=True)
    )
    mbus = await stack.enter_async_context(
        MbusBus([MbusMeter(MbusMeterSpec(primary=5, id=12345678, kind="water"))])
    )
    tcp_meters = [
        {"id": f"sdm630-{u}", "model": "eastron-sdm630", "unit_id": u}
        for u in range(1, electricity + 1)
    ]
    tcp_meters.append({"id": "ultrad-1", "model": "dynaflox-ultrad", "unit_id": water_unit})
    return [
        ModbusTcpBus.model_validate(
            {
                "kind": "modbus-tcp",
                "name": "tcp",
                "host": "127.0.0.1",
                "port": tcp.port,
                "period_s": period_s,
                "meters": tcp_meters,
            }
        ),
        ModbusRtuBus.model_validate(
            {
                "kind": "modbus-rtu",
                "name": "rs485",
                "port": str(rtu.port),
                "baud": 9600,
                "parity": "N",
                "stopbits": 2,
                "period_s": period_s,
                "meters": [
                    {"id": "sdm120-1", "model": "eastron-sdm120", "unit_id": 1},
                    {"id": "sdm72d-2", "model": "eastron-sdm72d", "unit_id": 2},
                ],
            }
        ),
        IecBusConfig.model_validate(
            {
                "kind": "iec62056-21",
                "name": "optical",
                "port": iec.path,
                "framing": "8N1",
                "meters": [
                    {
                        "id": "iec-10000001",
                        "address": "10000001",
                        "meter_tz": "+07:00",
                        "period_s": max(period_s, 5.0),
                    }
                ],
            }
        ),
        MbusBusConfig.model_validate(
            {
                "kind": "mbus",
                "name": "mbus",
                "port": mbus.path,
                "meters": [
                    {
                        "id": "mbus-water-5",
                        "primary": 5,
                        "meter_tz": "+07:00",
                        "period_s": max(period_s, 5.0),
                    }
                ],
            }
        ),
    ]
