"""A Modbus TCP bus: native meters overlap; meters behind a serial gateway take turns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from contract.mqtt import Reading
from drivers.modbus.frames import MbapDecoder, mbap_frame
from gateway.polling.config import PollingConfig
from gateway.polling.factory import build_schedulers
from simulators.modbus.bus import SimBus
from simulators.modbus.meter import MeterSpec
from tests.support.aio import run_async


class RecordingGateway:
    """A TCP server in front of simulated meters that answers each request after ``delay_s``,
    requests handled concurrently, and records when each arrived and how many overlapped."""

    def __init__(self, units: Sequence[int], delay_s: float = 0.02) -> None:
        meters = [MeterSpec(u, "eastron-sdm630") for u in units]
        self.bus = SimBus(meters, unknown_unit_silent=False)
        self.delay_s = delay_s
        self.arrivals: list[tuple[float, int]] = []  # (monotonic time, unit)
        self.open = 0
        self.most_open = 0
        self.port = 0

    async def _one(self, tid: int, unit: int, pdu: bytes, w: asyncio.StreamWriter) -> None:
        self.arrivals.append((time.monotonic(), unit))
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        await asyncio.sleep(self.delay_s)
        self.open -= 1
        answer = self.bus.handle(unit, pdu)
        assert answer.pdu is not None
        w.write(mbap_frame(tid, unit, answer.pdu))

    async def _serve(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        dec = MbapDecoder()
        tasks = set()
        try:
            while data := await r.read(4096):
                dec.feed(data)
                while (f := dec.next_frame()) is not None:
                    t = asyncio.create_task(self._one(f.transaction, f.unit, f.pdu, w))
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)
        except ConnectionError:
            pass
        finally:
            for t in list(tasks):
                t.cancel()
            w.close()

    async def start(self) -> asyncio.Server:
        srv = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = srv.sockets[0].getsockname()[1]
        return srv


async def _poll(port: int, serial_gateway: bool, seconds: float) -> list[Reading]:
    cfg = PollingConfig.model_validate(
        {
            "buses": [
                {
                    "kind": "modbus-tcp",
                    "name": "plant",
                    "port": port,
                    "period_s": 0.05,
                    "jitter": 0,
                    "serial_gateway": serial_gateway,
                    "meters": [
                        {"id": f"e{u}", "model": "eastron-sdm630", "unit_id": u} for u in (1, 2, 3)
                    ],
                }
            ]
        }
    )
    got: list[Reading] = []

    async def sink(readings: Sequence[Reading]) -> None:
        got.extend(readings)

    (sched,) = build_schedulers(
        cfg.buses, sink=sink, on_event=lambda e: None, registry=CollectorRegistry()
    )
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(seconds)
    sched.stop()
    await asyncio.wait_for(task, 5)
    assert all(h.failures == 0 for h in sched.health().values()), sched.health()
    return got


def _gaps_within_a_read(arrivals: list[tuple[float, int]], unit: int) -> list[float]:
    """Seconds between a meter's first and second request of each read (two per SDM630 read)."""
    mine = [t for t, u in arrivals if u == unit]
    return [b - a for a, b in zip(mine[0::2], mine[1::2], strict=False)]


@run_async
async def test_meters_behind_a_serial_gateway_take_turns_and_keep_their_silence() -> None:
    gw = RecordingGateway([1, 2, 3])
    srv = await gw.start()
    async with srv:
        got = await _poll(gw.port, serial_gateway=True, seconds=1.2)
    assert {r.meter_id for r in got} == {"e1", "e2", "e3"}
    assert gw.most_open == 1  # never two requests at the gateway at once
    gaps = _gaps_within_a_read(gw.arrivals, 1)
    assert gaps
    assert min(gaps) >= 0.02 + 0.06 - 0.005  # the answer's delay, then the SDM630's 60 ms


@run_async
async def test_native_tcp_meters_overlap_and_skip_the_serial_silence() -> None:
    gw = RecordingGateway([1, 2, 3])
    srv = await gw.start()
    async with srv:
        got = await _poll(gw.port, serial_gateway=False, seconds=1.2)
    assert {r.meter_id for r in got} == {"e1", "e2", "e3"}
    assert gw.most_open >= 2  # the meters' reads overlap on the one connection
    gaps = _gaps_within_a_read(gw.arrivals, 1)
    assert gaps
    assert max(gaps) < 0.02 + 0.06 - 0.01  # no 60 ms wait between a read's two requests
