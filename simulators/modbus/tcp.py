"""Simulated meters on Modbus TCP: ``async with ModbusTcpSimulator(meters=[...]) as sim``."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from types import TracebackType

import structlog

from drivers.modbus.frames import MbapDecoder, ModbusFrameError, mbap_frame
from drivers.modbus.models import ModelCatalog
from simulators.modbus.bus import SimBus, garble
from simulators.modbus.meter import MeterSpec

log = structlog.get_logger(__name__)


class ModbusTcpSimulator:
    """Serves ``meters`` (by unit id) on ``host:port``; ``port=0`` picks a free port."""

    def __init__(
        self,
        meters: Sequence[MeterSpec],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        catalog: ModelCatalog | None = None,
        seed: int = 0,
        refresh_s: float = 1.0,
    ) -> None:
        # A TCP gateway answers an unknown unit with exception 0x0B rather than silence.
        self.bus = SimBus(
            meters, catalog=catalog, unknown_unit_silent=False, seed=seed, refresh_s=refresh_s
        )
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._rng = random.Random(seed)
        self._conns: set[asyncio.Task[None]] = set()
        self.frame_errors = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info(
            "modbus tcp simulator listening",
            host=self.host,
            port=self.port,
            meters=len(self.bus.meters),
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._conns):
                task.cancel()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> ModbusTcpSimulator:
        await self.start()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        decoder = MbapDecoder()
        try:
            while data := await reader.read(4096):
                decoder.feed(data)
                while True:
                    try:
                        frame = decoder.next_frame()
                    except ModbusFrameError as exc:
                        self.frame_errors += 1
                        log.warning("bad modbus tcp frame, closing", reason=exc.reason)
                        return
                    if frame is None:
                        break
                    answer = self.bus.handle(frame.unit, frame.pdu)
                    if answer.pdu is None:
                        continue
                    out = mbap_frame(frame.transaction, frame.unit, answer.pdu)
                    d = answer.decision
                    if d.garble:
                        out = garble(out, self._rng)
                    if d.delay_s:
                        await asyncio.sleep(d.delay_s)
                    if d.split:
                        writer.write(out[: len(out) // 2])
                        await writer.drain()
                        await asyncio.sleep(0.005)
                        out = out[len(out) // 2 :]
                    writer.write(out)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(task)
            writer.close()
