"""A simulated Modbus meter: values that evolve like a real site's, served as registers.

Electricity: each phase follows a daily load profile (a night base, a morning and an evening
peak) with noise; energy integrates power, so it only grows; voltage and frequency jitter around
230 V and 50 Hz. Water: flow follows the time of day (peaks at 7:00 and 19:00, a trickle at
night); volume integrates flow. A counter with a digit count rolls over at 10^digits.

``answer(fc, address, count)`` gives the words, refreshed at most ``refresh_s`` apart (a real
meter updates its registers about once a second).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.modbus.decode import encode_part
from drivers.modbus.frames import ILLEGAL_ADDRESS, ILLEGAL_VALUE, ModbusExceptionCode
from drivers.modbus.models import ModelCatalog
from drivers.modbus.types import MeterModel
from simulators.modbus.faults import Faults


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """One simulated meter: its unit id, its model (by name or as a model) and its faults."""

    unit_id: int
    model: str | MeterModel
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None
    energy_start: float = 1000.0  # kWh, or m³ for water
    speed: float = 1.0  # meter time runs this many times faster than real time (demos, tests)


def _bump(hour: float, centre: float, width: float) -> float:
    d = min(abs(hour - centre), 24 - abs(hour - centre))
    return math.exp(-((d / width) ** 2))


def load_profile(hour: float) -> float:
    """Fraction of peak load at a local hour: night base, morning and evening peaks."""
    return 0.15 + 0.45 * _bump(hour, 7.5, 1.5) + 0.85 * _bump(hour, 19.5, 2.0)


def water_profile(hour: float) -> float:
    """Fraction of peak flow: morning and evening peaks, a small night trickle."""
    return 0.02 + 0.9 * _bump(hour, 7.0, 1.0) + 0.7 * _bump(hour, 19.0, 1.5)


class SimMeter:
    def __init__(
        self,
        spec: MeterSpec,
        *,
        clock: Callable[[], float],
        catalog: ModelCatalog | None = None,
        refresh_s: float = 1.0,
    ) -> None:
        self.spec = spec
        self.unit_id = spec.unit_id
        self.model = (
            spec.model
            if isinstance(spec.model, MeterModel)
            else (catalog or ModelCatalog()).get(spec.model)
        )
        self.faults = spec.faults
        self.rng = random.Random(spec.seed if spec.seed is not None else spec.unit_id)
        self._clock = clock
        self._refresh_s = refresh_s
        self.t0 = clock()
        self._t_last = self.t0
        self.peak_w = self.rng.uniform(2000, 8000)
        self.peak_l_h = self.rng.uniform(300, 1500)
        self.counters: dict[str, float] = {}
        self._rollover: dict[str, float] = {}
        for reg in self.model.registers:
            if reg.rollover is not None:
                self._rollover[reg.quantity] = reg.rollover
                start = spec.energy_start * self.rng.uniform(0.5, 1.5)
                if reg.quantity.endswith(("_export", "_reverse")):
                    start *= 0.01
                if self.faults.rollover:
                    start = reg.rollover - (0.05 if reg.unit != "m3" else 0.0005)
                self.counters[reg.quantity] = start
        self.values: dict[str, float] = {}
        self._words: dict[tuple[int, int], int] = {}
        self._stamp = -math.inf
        self.requests = 0
        self._evolve(0.0)

    def elapsed(self) -> float:
        return self._clock() - self.t0

    def _scale(self) -> float:
        return self.spec.speed * (1 + self.faults.clock_drift)

    def _hour(self, now: float) -> float:
        return (8.0 + (now - self.t0) * self._scale() / 3600.0) % 24.0

    def _evolve(self, dt: float) -> None:
        hour = self._hour(self._t_last)
        g = self.rng.gauss
        v: dict[str, float] = {}
        load = load_profile(hour)
        total_w = 0.0
        for ph in (1, 2, 3):
            volts = 230.0 + g(0, 1.2)
            watts = max(0.0, self.peak_w / 3 * load * (1 + g(0, 0.05)))
            pf = min(1.0, 0.93 + g(0, 0.02))
            v[f"voltage_l{ph}"] = volts
            v[f"power_active_l{ph}"] = watts
            v[f"current_l{ph}"] = watts / (volts * pf)
            total_w += watts
        v["power_active"] = total_w
        v["power_factor_total"] = min(1.0, 0.93 + g(0, 0.01))
        v["frequency"] = 50.0 + g(0, 0.02)
        flow = self.peak_l_h * water_profile(hour) * max(0.0, 1 + g(0, 0.1))
        v["volume_flow"] = round(flow) / 1000.0  # m³/h, the meter counts whole L/h
        v["temperature"] = 21.5 + g(0, 0.3)
        v["status"] = 0
        v["error_code"] = 0
        meter_s = (self._t_last - self.t0) * self._scale()
        v["battery_voltage"] = 3600 - meter_s / 86400
        v["run_time"] = 3_600_000 + meter_s
        v["fault_time"] = 0
        for q, value in list(self.counters.items()):
            if q == "energy_import":
                value += total_w * dt / 3.6e6
            elif q == "volume":
                value += flow * dt / 1000.0 / 3600.0
            self.counters[q] = value % self._rollover[q]
        if "energy_absolute" in self.counters and "energy_import" in self.counters:
            total = self.counters["energy_import"] + self.counters.get("energy_export", 0.0)
            self.counters["energy_absolute"] = total % self._rollover["energy_absolute"]
        v.update(self.counters)
        self.values = v

    def _refresh(self) -> None:
        now = self._clock()
        if now - self._stamp < self._refresh_s:
            return
        if not self.faults.stuck or not self._words:
            self._evolve(max(0.0, now - self._t_last) * self._scale())
            self._t_last = now
            words: dict[tuple[int, int], int] = {}
            for reg in self.model.registers:
                value = self.values.get(reg.quantity, 0.0)
                for i, part in enumerate(reg.parts):
                    if len(reg.parts) == 2:  # integer part + decimal part
                        share = math.floor(value) if i == 0 else (value - math.floor(value))
                    else:
                        share = value
                    for k, w in enumerate(encode_part(part, share)):
                        words[(reg.fc, part.address + k)] = w
            self._words = words
        self._stamp = now

    def answer(self, fc: int, address: int, count: int) -> list[int]:
        """The words of ``count`` registers from ``address``, refused as the meter refuses.

        More registers than the model's ``max_registers``: exception 03. A register outside the
        model's documented ones, when the model says the meter refuses those: exception 02;
        otherwise a register the model does not use reads 0.
        """
        self.requests += 1
        model = self.model
        if count > model.limits.max_registers:
            raise ModbusExceptionCode(
                fc, ILLEGAL_VALUE, f"{count} registers, more than {model.limits.max_registers}"
            )
        if model.undocumented == "exception" and not model.is_documented(
            fc, address, address + count
        ):
            raise ModbusExceptionCode(
                fc, ILLEGAL_ADDRESS, f"FC{fc:02d} {address:#06x}+{count} is not documented"
            )
        self._refresh()
        get = self._words.get
        return [get((fc, a), 0) for a in range(address, address + count)]
