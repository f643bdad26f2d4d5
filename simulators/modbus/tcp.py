"""Simulated meters on Modbus TCP: ``async with ModbusTcpSimulator(meters=[...]) as sim``."""

from __future__ import annotations

import asyncio
import random
import struct
from collections import Counter
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
        self._conns: set[asyncio.Transport] = set()
        self.frame_errors = 0
        self.injected: Counter[str] = Counter()  # broken answers sent, by fault

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._connection, self.host, self.port)
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
            for transport in list(self._conns):
                transport.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> ModbusTcpSimulator:
        await self.start()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _connection(self) -> _Connection:
        return _Connection(self)


class _Connection(asyncio.BufferedProtocol):
    """One client connection: requests answered in order, each after its fault's delay."""

    def __init__(self, sim: ModbusTcpSimulator) -> None:
        self.sim = sim
        self.decoder = MbapDecoder()
        self.inbox = bytearray(4096)
        self.view = memoryview(self.inbox)
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        self.tail = 0.0  # when the last scheduled answer goes out: answers keep their order

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sim._conns.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.sim._conns.discard(self.transport)
        self.transport = None

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        sim = self.sim
        self.decoder.feed(self.inbox[:nbytes])
        while self.transport is not None:
            try:
                frame = self.decoder.next_frame()
            except ModbusFrameError as exc:
                sim.frame_errors += 1
                log.warning("bad modbus tcp frame, closing", reason=exc.reason)
                self.transport.close()
                return
            if frame is None:
                return
            answer = sim.bus.handle(frame.unit, frame.pdu)
            if answer.pdu is None:
                continue
            d = answer.decision
            tid = (frame.transaction + 1) & 0xFFFF if d.wrong_tid else frame.transaction
            out = mbap_frame(tid, frame.unit, answer.pdu)
            if d.wrong_tid:
                sim.injected["wrong_tid"] += 1
            if d.wrong_length:  # the header announces 2 bytes more than the answer has
                out = out[:4] + struct.pack(">H", len(answer.pdu) + 3) + out[6:]
                sim.injected["wrong_length"] += 1
            if d.truncate:  # cut after the byte count; the header still announces it all
                out = out[:9]
                sim.injected["truncate"] += 1
            if d.garble:
                out = garble(out, sim._rng)
            now = self.loop.time()
            at = max(now + d.delay_s, self.tail)
            if d.split:
                half = len(out) // 2
                self._send_at(at, out[:half])
                out, at = out[half:], at + 0.005
            self._send_at(at, out)

    def _send_at(self, at: float, data: bytes) -> None:
        self.tail = at
        if at <= self.loop.time():
            self._send(data)
        else:
            self.loop.call_at(at, self._send, data)

    def _send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
