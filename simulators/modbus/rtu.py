"""Simulated meters on one RS-485 line, behind a pty that the gateway opens like a serial port.

``async with ModbusRtuSimulator(meters=[...]) as sim`` opens a pseudo-terminal; ``sim.port`` is
the path to give the client (``/dev/pts/N``, or ``link`` when a symlink such as
``/tmp/ttyM2C0`` is asked for). Like a real line, a request for an unknown unit id gets no
answer at all, and a broadcast (unit 0) neither.

With ``wire_timing`` the line runs at ``baud``: a request is only complete after its bytes took
their time (``bits_per_char`` bits each), the meter waits 3.5 characters (``turnaround_s``)
before answering, and its answer takes its own time on the wire, so a benchmark is held to the
physical limit. Linux ptys ignore parity, so parity is not emulated.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import termios
import time
import tty
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import structlog

from drivers.modbus.frames import ModbusFrameError, RtuRequestDecoder, rtu_frame
from drivers.modbus.models import ModelCatalog
from simulators.modbus.bus import SimBus, garble
from simulators.modbus.meter import MeterSpec

log = structlog.get_logger(__name__)


class ModbusRtuSimulator:
    def __init__(
        self,
        meters: Sequence[MeterSpec],
        *,
        link: str | Path | None = None,
        baud: int = 9600,
        bits_per_char: int = 11,
        wire_timing: bool = False,
        turnaround_s: float | None = None,
        catalog: ModelCatalog | None = None,
        seed: int = 0,
        refresh_s: float = 1.0,
    ) -> None:
        self.bus = SimBus(
            meters, catalog=catalog, unknown_unit_silent=True, seed=seed, refresh_s=refresh_s
        )
        self.baud = baud
        self.char_s = bits_per_char / baud
        self.wire_timing = wire_timing
        self.turnaround_s = 3.5 * self.char_s if turnaround_s is None else turnaround_s
        # Without wire timing a pause this long still ends a partial frame.
        self.gap_s = max(3.5 * self.char_s, 0.002) if wire_timing else 0.05
        self._link = Path(link) if link is not None else None
        self._rng = random.Random(seed)
        self._master = -1
        self._slave = -1
        self.port = ""
        self._decoder = RtuRequestDecoder()
        self._last_rx = 0.0
        self._frames: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.frame_errors = 0
        self.answered = 0

    async def start(self) -> None:
        self._master, self._slave = os.openpty()
        for fd in (self._master, self._slave):
            tty.setraw(fd)
        attrs = termios.tcgetattr(self._slave)
        speed = getattr(termios, f"B{self.baud}", termios.B9600)
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        if self._link is not None:
            with contextlib.suppress(FileNotFoundError):
                self._link.unlink()
            self._link.symlink_to(self.port)
            self.port = str(self._link)
        loop = asyncio.get_running_loop()
        loop.add_reader(self._master, self._on_readable)
        self._task = asyncio.create_task(self._answer_loop())
        log.info(
            "modbus rtu simulator on pty",
            port=self.port,
            baud=self.baud,
            meters=len(self.bus.meters),
            wire_timing=self.wire_timing,
        )

    async def stop(self) -> None:
        if self._master >= 0:
            asyncio.get_running_loop().remove_reader(self._master)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        if self._link is not None:
            with contextlib.suppress(FileNotFoundError):
                self._link.unlink()

    async def __aenter__(self) -> ModbusRtuSimulator:
        await self.start()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: no client has the pty open right now
            return
        now = time.monotonic()
        if self._decoder.pending and now - self._last_rx > self.gap_s:
            self._decoder.gap()
        self._last_rx = now
        self._decoder.feed(data)
        while True:
            try:
                frame = self._decoder.next_frame()
            except ModbusFrameError as exc:
                self.frame_errors += 1
                log.debug("bad rtu frame", reason=exc.reason)
                continue
            if frame is None:
                return
            self._frames.put_nowait((rtu_frame(frame.unit, frame.pdu), now))

    async def _answer_loop(self) -> None:
        while True:
            raw, received = await self._frames.get()
            answer = self.bus.handle(raw[0], raw[1:-2])
            if answer.pdu is None:
                continue
            out = rtu_frame(raw[0], answer.pdu)
            d = answer.decision
            if d.bad_crc:
                out = out[:-2] + bytes((out[-2] ^ 0xFF, out[-1]))
            if d.garble:
                out = garble(out, self._rng)
            if d.truncate:  # cut after the byte count: a frame without its data and CRC
                out = out[:3]
            if self.wire_timing:
                # the request's bytes arrived all at once through the pty: let them take their
                # time, then the turnaround, then the answer's own time on the wire
                ready = received + len(raw) * self.char_s + self.turnaround_s
                ready += len(out) * self.char_s
                await asyncio.sleep(max(0.0, ready - time.monotonic()))
            if d.delay_s:
                await asyncio.sleep(d.delay_s)
            try:
                if d.split:
                    os.write(self._master, out[: len(out) // 2])
                    await asyncio.sleep(max(self.char_s * 2, 0.001))
                    out = out[len(out) // 2 :]
                os.write(self._master, out)
                self.answered += 1
            except OSError as exc:
                log.debug("pty write failed", error=str(exc))
