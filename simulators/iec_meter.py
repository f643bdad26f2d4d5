"""IEC 62056-21 mode C electricity meters on a simulated serial line (a pty).

One :class:`IecBus` is one port with one or more meters behind it (an optical head holds one; an
RS-485 line may hold several, each answering only ``/?<its address>!``). The bus checks what a
real meter would notice: the sign-on must come at the sign-on speed, the data block is sent only
after the reader has switched to the speed it chose in its ACK (a meter waits at most 1.5 s, the
standard's longest reaction time), and a battery meter ignores a sign-on without wake-up NULs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import structlog

from drivers.iec62056.datasets import DataSet, Value, format_lines
from drivers.iec62056.frames import (
    BAUD_CHARS,
    Identification,
    apply_parity,
    encode_data_block,
    encode_identification,
)
from drivers.iec62056.meter import Command, Garbled, MeterCodec, Nak, OptionSelect, SignOnRequest
from simulators.profiles import Clock, Faults, Register, electricity, utcnow
from simulators.ptylink import PtyDeviceServer, PtyPort

log = structlog.get_logger(__name__)

SWITCH_GRACE_S = 1.5  # longest a meter waits for the reader to change speed
AWAKE_S = 5.0  # a battery meter listens this long after wake-up NULs


@dataclass
class IecMeterSpec:
    address: str  # device address (serial number) answered on a shared bus
    maker: str = "MCs"  # a lowercase third letter announces a 20 ms reaction time
    baud_char: str = "5"  # highest speed offered (5 = 9600)
    start_kwh: float = 12345.678
    mean_kw: float = 1.2
    tz_offset_h: float = 7.0  # the meter's clock is local time
    has_clock: bool = True
    battery: bool = False
    seed: int = 1
    faults: Faults = field(default_factory=Faults)


class IecMeter:
    def __init__(self, spec: IecMeterSpec, *, clock: Clock = utcnow) -> None:
        self.spec = spec
        self.faults = spec.faults
        self._clock = clock
        self.import_kwh: Register = electricity(
            spec.start_kwh, spec.mean_kw, seed=spec.seed, clock=clock, tz_offset_h=spec.tz_offset_h
        )
        self.reads = 0
        self.max_kw = 0.0
        self.max_at = clock()
        self._frozen: list[DataSet] = []

    @property
    def identification(self) -> Identification:
        return Identification(self.spec.maker, self.spec.baud_char, f"M2C{self.spec.address}")

    def datasets(self) -> list[DataSet]:
        """What the meter shows now; a ``stuck`` meter shows the same values, only its clock
        runs on."""
        now = self._clock()
        if not (self.faults.stuck and self._frozen):
            self._frozen = self._values(now)
        return self._frozen + self._clock_lines(now)

    def _values(self, now: datetime) -> list[DataSet]:
        energy = self.import_kwh.advance()
        power = self.import_kwh.rate
        if power > self.max_kw or now.month != self.max_at.month:  # the maximum of the month
            self.max_kw, self.max_at = power, now
        zone = timezone(timedelta(hours=self.spec.tz_offset_h))
        max_at = (self.max_at + timedelta(seconds=self.faults.clock_drift_s)).astimezone(zone)
        return [
            DataSet("0.0.0", (Value(self.spec.address),)),
            DataSet("1.8.0", (Value(f"{energy:010.3f}", "kWh"),)),
            DataSet("2.8.0", (Value("000000.000", "kWh"),)),
            DataSet("1.7.0", (Value(f"{power:06.3f}", "kW"),)),
            DataSet(
                "1.6.0",
                (Value(f"{self.max_kw:06.3f}", "kW"), Value(max_at.strftime("%y-%m-%d %H:%M"))),
            ),
            DataSet("32.7.0", (Value(f"{231.0 - 0.8 * power:.1f}", "V"),)),  # sags under load
            DataSet("31.7.0", (Value(f"{power * 1000 / 230:.2f}", "A"),)),
            DataSet("14.7.0", (Value("50.00", "Hz"),)),
        ]

    def _clock_lines(self, now: datetime) -> list[DataSet]:
        if not self.spec.has_clock:
            return []
        zone = timezone(timedelta(hours=self.spec.tz_offset_h))
        local = (now + timedelta(seconds=self.faults.clock_drift_s)).astimezone(zone)
        return [
            DataSet("0.9.1", (Value(local.strftime("%H%M%S")),)),
            DataSet("0.9.2", (Value(local.strftime("%y%m%d")),)),
        ]

    def data_block(self) -> bytes:
        block = encode_data_block(format_lines(self.datasets()))
        if self.faults.bad_checksum:
            block = block[:-1] + bytes([(block[-1] + 1) & 0x7F])
        return block


@dataclass
class BusCounters:
    sign_ons: int = 0  # sign-ons answered
    readouts: int = 0
    ignored: int = 0  # requests for an address nobody here has, or at the wrong speed
    refused_speed: int = 0  # the reader did not switch speed after its ACK
    repeats: int = 0  # data blocks sent again after a NAK
    garbled: int = 0


class IecBus(PtyDeviceServer):
    """Meters sharing one simulated port. ``await start()``, read ``path``, ``await stop()``."""

    def __init__(
        self,
        meters: list[IecMeter],
        *,
        link: str | Path | None = None,
        signon_baud: int = 300,
        wire_timing: bool = False,
        parity_on_wire: bool = False,
        switch_grace_s: float = SWITCH_GRACE_S,
    ) -> None:
        self.meters = meters
        self.link = link
        self.signon_baud = signon_baud
        self.wire_timing = wire_timing
        self.parity_on_wire = parity_on_wire
        self.switch_grace_s = switch_grace_s
        self.counters = BusCounters()
        self._codec = MeterCodec()
        self._talking: IecMeter | None = None
        self._talk_ends = 0.0
        self._last_block = b""
        self._awake_until = 0.0

    def _open_port(self) -> PtyPort:
        return PtyPort(self.link, wire_timing=self.wire_timing, bits_per_char=10)

    async def _serve(self) -> None:
        assert self.port is not None
        loop = asyncio.get_running_loop()
        while True:
            chunk = await self.port.read()
            if self.wire_timing:  # requests come at the sign-on speed, 10 bits a character
                await asyncio.sleep(len(chunk) * 10 / self.signon_baud)
            if b"\x00" in chunk:
                self._awake_until = loop.time() + AWAKE_S
            self._codec.receive_data(chunk)
            while True:
                event = self._codec.next_event()
                if isinstance(event, SignOnRequest):
                    await self._sign_on(event)
                elif isinstance(event, OptionSelect):
                    await self._option_select(event)
                elif isinstance(event, Nak) and self._talking is not None and self._last_block:
                    self.counters.repeats += 1
                    await asyncio.sleep(self._reaction(self._talking))
                    await self._send(self._talking, self._last_block)
                elif isinstance(event, Command):
                    self._talking = None  # break (B0) or anything else ends the readout
                elif isinstance(event, Garbled):
                    self.counters.garbled += 1
                else:
                    break

    async def _sign_on(self, request: SignOnRequest) -> None:
        assert self.port is not None
        self._talking = None
        if self.port.speed() != self.signon_baud:
            self.counters.ignored += 1  # at another speed the meter hears only noise
            return
        if request.address:
            meters = [m for m in self.meters if m.spec.address == request.address]
        else:
            meters = list(self.meters)
        meters = [m for m in meters if not m.faults.no_answer and self._listening(m)]
        if not meters:
            self.counters.ignored += 1
            return
        self.counters.sign_ons += 1
        meter = meters[0]
        await asyncio.sleep(self._reaction(meter) + meter.faults.late_answer_s)
        answers = [encode_identification(m.identification) for m in meters]
        if len(answers) > 1:  # several meters answer a blank sign-on at once: a collision
            width = max(map(len, answers))
            padded = [a.ljust(width, b"\xff") for a in answers]
            await self._send(meter, bytes(min(col) for col in zip(*padded, strict=True)))
            return
        await self._send(meter, answers[0])
        self._talking = meter
        self._talk_ends = asyncio.get_running_loop().time() + self.switch_grace_s + 1.5

    def _listening(self, meter: IecMeter) -> bool:
        return not meter.spec.battery or asyncio.get_running_loop().time() < self._awake_until

    async def _option_select(self, request: OptionSelect) -> None:
        meter, self._talking = self._talking, None
        loop = asyncio.get_running_loop()
        if meter is None or loop.time() > self._talk_ends or request.mode_char != "0":
            self.counters.ignored += 1
            return
        speed = BAUD_CHARS[request.baud_char]
        if speed > BAUD_CHARS[meter.spec.baud_char]:
            self.counters.ignored += 1
            return
        await asyncio.sleep(self._reaction(meter))
        if not await self._reader_switched(speed):
            self.counters.refused_speed += 1
            log.info("iec_sim.reader_did_not_switch", address=meter.spec.address, wanted=speed)
            return
        await asyncio.sleep(meter.faults.late_answer_s)
        self._last_block = meter.data_block()
        meter.reads += 1
        self.counters.readouts += 1
        self._talking = meter
        await self._send(meter, self._last_block)

    async def _reader_switched(self, speed: int) -> bool:
        assert self.port is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.switch_grace_s
        while self.port.speed() != speed:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    @staticmethod
    def _reaction(meter: IecMeter) -> float:
        return 0.02 if meter.identification.short_reaction else 0.2

    async def _send(self, meter: IecMeter, data: bytes) -> None:
        assert self.port is not None
        if meter.faults.garble and len(data) > 2:
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0x5A]) + data[middle + 1 :]
        if self.parity_on_wire:
            data = apply_parity(data)
        if not meter.faults.split:
            await self.port.write(data)
            return
        for i in range(0, len(data), 3):
            await self.port.write(data[i : i + 3])
            await asyncio.sleep(0.002)
