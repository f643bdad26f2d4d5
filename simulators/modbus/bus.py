"""What the meters of one simulated bus answer to a request PDU, faults included (no I/O)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from drivers.modbus.frames import (
    GATEWAY_TARGET_FAILED,
    ModbusExceptionCode,
    ModbusFrameError,
    exception_pdu,
    parse_read_request,
    read_response_pdu,
)
from drivers.modbus.models import ModelCatalog
from simulators.modbus.faults import NO_FAULT, Decision, decide
from simulators.modbus.meter import MeterSpec, SimMeter


@dataclass(frozen=True, slots=True)
class Answer:
    """The PDU to send back (``None``: stay silent) and how to garble or delay it."""

    pdu: bytes | None
    decision: Decision = NO_FAULT


SILENT = Answer(None)


class SimBus:
    """Many meters by unit id. An unknown unit id gets silence (RS-485) or exception 0x0B."""

    def __init__(
        self,
        meters: Iterable[MeterSpec],
        *,
        clock: Callable[[], float] = time.monotonic,
        catalog: ModelCatalog | None = None,
        unknown_unit_silent: bool = True,
        seed: int = 0,
        refresh_s: float = 1.0,
    ) -> None:
        catalog = catalog or ModelCatalog()
        self.meters: dict[int, SimMeter] = {}
        for spec in meters:
            if not 0 < spec.unit_id < 256:
                raise ValueError(f"unit id {spec.unit_id} not in 1..255")
            if spec.unit_id in self.meters:
                raise ValueError(f"unit id {spec.unit_id} is used twice")
            self.meters[spec.unit_id] = SimMeter(
                spec, clock=clock, catalog=catalog, refresh_s=refresh_s
            )
        self._clock = clock
        self._t0 = clock()
        self._rng = random.Random(seed)
        self._unknown_silent = unknown_unit_silent
        self.frame_errors = 0

    def handle(self, unit: int, pdu: bytes) -> Answer:
        meter = self.meters.get(unit)
        if meter is None:
            if self._unknown_silent or unit == 0 or not pdu:
                return SILENT
            return Answer(exception_pdu(pdu[0], GATEWAY_TARGET_FAILED))
        decision = decide(meter.faults, self._rng, self._clock() - self._t0)
        if decision.silent:
            return Answer(None, decision)
        try:
            req = parse_read_request(pdu)
        except ModbusExceptionCode as exc:
            return Answer(exception_pdu(exc.fc, exc.code), decision)
        except ModbusFrameError:
            self.frame_errors += 1
            return SILENT
        if decision.exception_code:
            return Answer(exception_pdu(req.fc, decision.exception_code), decision)
        try:
            words = meter.answer(req.fc, req.address, req.count)
        except ModbusExceptionCode as exc:
            return Answer(exception_pdu(exc.fc, exc.code), decision)
        return Answer(read_response_pdu(req.fc, words), decision)


def garble(data: bytes, rng: random.Random) -> bytes:
    """One byte of ``data`` flipped (not the first: the unit id stays, as on a noisy line)."""
    if len(data) < 2:
        return data
    i = rng.randrange(1, len(data))
    return data[:i] + bytes((data[i] ^ (1 << rng.randrange(8)),)) + data[i + 1 :]
