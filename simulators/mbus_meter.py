"""Wired M-Bus water and heat meters on a simulated serial line (a pty), 2400 8E1.

An :class:`MbusBus` is one port (one level converter) with meters at primary addresses. Each
meter answers SND_NKE with E5 and REQ_UD2 with an RSP_UD long frame (CI 0x72); an unknown
address gets silence, as on a real bus. Secondary addressing selects a meter by its 8-digit id
(CI 0x52, with wildcards). The frame count bit is honoured: a repeated FCB gets the same
telegram again; a heat meter can split its answer over two telegrams (DIF 0x1F).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone
from pathlib import Path
from typing import Literal

from drivers.mbus.datatypes import encode_type_f, encode_type_g
from drivers.mbus.errors import MbusError
from drivers.mbus.frames import (
    ADDRESS_BROADCAST_REPLY,
    ADDRESS_NETWORK,
    CI_RSP_UD_LONG,
    CI_SELECT,
    FCB,
    FCV,
    RSP_UD,
    SND_NKE,
    Ack,
    FrameParser,
    LongFrame,
    NeedData,
    ShortFrame,
    encode,
)
from drivers.mbus.master import SelectSecondary
from drivers.mbus.records import Header, encode_header, encode_record
from simulators.profiles import Clock, Faults, Register, electricity, utcnow, water
from simulators.ptylink import PtyDeviceServer, PtyPort

MEDIUM_CODE = {"water": 0x07, "heat": 0x04}
DELTA_T_K = 20.0
WATER_HEAT_KWH_PER_M3K = 1.163


@dataclass
class MbusMeterSpec:
    primary: int
    id: int  # 8-digit identification number (the secondary address)
    kind: Literal["water", "heat"] = "water"
    manufacturer: str = "MCS"
    version: int = 1
    start: float = 1234.567  # m³ (water) or kWh (heat)
    mean_rate: float = 0.05  # m³/h (water) or kW (heat)
    telegrams: int = 1  # a heat meter with 2 sends its monthly history in a second telegram
    tz_offset_h: float = 7.0
    seed: int = 1
    faults: Faults = field(default_factory=Faults)


class MbusMeter:
    def __init__(self, spec: MbusMeterSpec, *, clock: Clock = utcnow) -> None:
        self.spec = spec
        self.faults = spec.faults
        self._clock = clock
        make = water if spec.kind == "water" else electricity
        self.register: Register = make(
            spec.start, spec.mean_rate, seed=spec.seed, clock=clock, tz_offset_h=spec.tz_offset_h
        )
        self.access_no = 0
        self.selected = False
        self.last_fcb: bool | None = None
        self.last_answer = b""
        self.next_telegram = 0
        self.reads = 0
        self._frozen: tuple[float, float] | None = None

    def header_preview(self) -> Header:
        return Header(
            id=self.spec.id,
            manufacturer=self.spec.manufacturer,
            version=self.spec.version,
            medium=MEDIUM_CODE[self.spec.kind],
            access_no=self.access_no,
            status=0,
        )

    def header(self) -> Header:
        """The header of the next answer (the access number counts answers)."""
        self.access_no = (self.access_no + 1) & 0xFF
        return self.header_preview()

    def _local(self) -> tuple[bytes, date]:
        now = self._clock() + timedelta(seconds=self.faults.clock_drift_s)
        local = now.astimezone(timezone(timedelta(hours=self.spec.tz_offset_h)))
        return encode_type_f(local.replace(tzinfo=None)), local.date().replace(day=1)

    def telegram(self, index: int) -> bytes:
        """The application data (header and records) of telegram ``index``."""
        clock_bytes, month_start = self._local()
        if not (self.faults.stuck and self._frozen):  # a stuck meter's values stay, its clock runs
            self._frozen = (self.register.advance(), self.register.rate)
        value, rate = self._frozen
        out = encode_header(self.header()) + encode_record(b"\x78", self.spec.id, "bcd8")
        if self.spec.kind == "water":
            out += encode_record(b"\x13", round(value * 1000), "bcd8")  # litres
            out += encode_record(b"\x3b", round(rate * 1000), "bcd6")  # L/h
            out += encode_record(b"\x6d", clock_bytes, "datetime")
            out += encode_record(b"\x13", round(self.spec.start * 1000), "bcd8", storage=1)
            out += encode_record(b"\x6c", encode_type_g(month_start), "date", storage=1)
            out += encode_record(b"\xfd\x17", 0, "int16")  # error flags
            return out
        if index == 0:
            flow_m3_h = rate / (WATER_HEAT_KWH_PER_M3K * DELTA_T_K)
            volume = (value - self.spec.start) / (WATER_HEAT_KWH_PER_M3K * DELTA_T_K) + 100.0
            out += encode_record(b"\x06", round(value), "int32")  # kWh
            out += encode_record(b"\x14", round(volume * 100), "bcd8")  # 0.01 m³
            out += encode_record(b"\x2b", round(rate * 1000), "bcd6")  # W
            out += encode_record(b"\x3b", round(flow_m3_h * 1000), "bcd6")  # L/h
            out += encode_record(b"\x5a", 700, "bcd4")  # 70.0 °C
            out += encode_record(b"\x5e", round((70.0 - DELTA_T_K) * 10), "bcd4")
            out += encode_record(b"\x61", round(DELTA_T_K * 100), "bcd6")  # 0.01 K
            out += encode_record(b"\x6d", clock_bytes, "datetime")
            out += encode_record(b"\x06", round(value * 0.4), "int32", tariff=1)
            out += encode_record(b"\x13", round(volume * 1000), "bcd8", subunit=1)
        else:
            for month in range(1, 13):
                out += encode_record(
                    b"\x06", round(self.spec.start) - 30 * month, "int32", storage=month
                )
        if index + 1 < self.spec.telegrams:
            out += b"\x1f"
        return out


@dataclass
class BusCounters:
    requests: int = 0
    answers: int = 0
    repeats: int = 0  # REQ_UD2 with the same FCB: the last telegram sent again
    ignored: int = 0
    garbled: int = 0


class MbusBus(PtyDeviceServer):
    """Meters on one simulated M-Bus port. ``await start()``, read ``path``, ``await stop()``."""

    def __init__(
        self,
        meters: list[MbusMeter],
        *,
        link: str | Path | None = None,
        baudrate: int = 2400,
        wire_timing: bool = False,
    ) -> None:
        self.meters = meters
        self.link = link
        self.baudrate = baudrate
        self.wire_timing = wire_timing
        self.counters = BusCounters()
        self._parser = FrameParser()

    def _open_port(self) -> PtyPort:
        return PtyPort(self.link, wire_timing=self.wire_timing)

    async def _serve(self) -> None:
        assert self.port is not None
        while True:
            chunk = await self.port.read()
            await self.port.arrival(chunk)
            self._parser.receive_data(chunk)
            while True:
                try:
                    frame = self._parser.next_event()
                except MbusError:
                    self.counters.garbled += 1
                    self._parser.resync()
                    continue
                if isinstance(frame, NeedData):
                    break
                self.counters.requests += 1
                if self.port.speed() != self.baudrate:
                    self.counters.ignored += 1  # at another speed the meters hear noise
                    continue
                await self._handle(frame)

    def _targets(self, address: int) -> list[MbusMeter]:
        if address == ADDRESS_NETWORK:
            return [m for m in self.meters if m.selected]
        if address == ADDRESS_BROADCAST_REPLY:
            return list(self.meters)
        return [m for m in self.meters if m.spec.primary == address]

    async def _handle(self, frame: Ack | ShortFrame | LongFrame) -> None:
        if isinstance(frame, LongFrame) and frame.ci == CI_SELECT and frame.a == ADDRESS_NETWORK:
            try:
                selection = SelectSecondary.decode_data(frame.data)
            except MbusError:
                self.counters.garbled += 1
                return
            for meter in self.meters:
                meter.selected = selection.matches(meter.header_preview())
                if meter.selected:  # a selection starts afresh, as SND_NKE does
                    meter.last_fcb, meter.last_answer, meter.next_telegram = False, b"", 0
            await self._reply([m for m in self.meters if m.selected], lambda m: encode(Ack()))
            return
        if not isinstance(frame, ShortFrame):
            self.counters.ignored += 1
            return
        meters = self._targets(frame.a)
        if frame.c == SND_NKE:
            for meter in meters:
                meter.last_fcb, meter.last_answer, meter.next_telegram = False, b"", 0
            await self._reply(meters, lambda m: encode(Ack()))
        elif frame.c & ~(FCB | FCV) == 0x4B:  # REQ_UD2; without FCV the FCB means nothing
            fcb = bool(frame.c & FCB) if frame.c & FCV else None
            await self._reply(meters, lambda m: self._rsp_ud(m, fcb))
        else:
            self.counters.ignored += 1

    def _rsp_ud(self, meter: MbusMeter, fcb: bool | None) -> bytes:
        if fcb is not None and fcb == meter.last_fcb and meter.last_answer:
            self.counters.repeats += 1
            return meter.last_answer
        index = meter.next_telegram
        data = meter.telegram(index)
        meter.next_telegram = index + 1 if data.endswith(b"\x1f") else 0
        meter.last_fcb = fcb
        meter.reads += 1
        meter.last_answer = encode(
            LongFrame(c=RSP_UD, a=meter.spec.primary, ci=CI_RSP_UD_LONG, data=data)
        )
        return meter.last_answer

    async def _reply(self, meters: list[MbusMeter], answer: Callable[[MbusMeter], bytes]) -> None:
        assert self.port is not None
        live = [m for m in meters if not m.faults.no_answer]
        if not live:
            self.counters.ignored += 1
            return
        meter = live[0]
        data = answer(meter)
        if len(live) > 1:  # several meters talk at once: the converter sees a collision
            data = bytes(b & 0x5A for b in data)
        await asyncio.sleep(meter.faults.late_answer_s)
        if meter.faults.bad_checksum and len(data) > 2:
            data = data[:-2] + bytes([(data[-2] + 1) & 0xFF]) + data[-1:]
        if meter.faults.garble and len(data) > 2:
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0x5A]) + data[middle + 1 :]
        self.counters.answers += 1
        if not meter.faults.split:
            await self.port.write(data)
            return
        for i in range(0, len(data), 4):
            await self.port.write(data[i : i + 4])
            await asyncio.sleep(0.002)
