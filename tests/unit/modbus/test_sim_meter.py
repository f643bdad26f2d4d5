from __future__ import annotations

import random

import pytest

from drivers.modbus.decode import decode, words_of
from drivers.modbus.frames import exception_pdu, read_request_pdu
from drivers.modbus.models import ModelCatalog
from simulators.modbus.bus import SimBus
from simulators.modbus.faults import Faults, FaultSpecError, decide, parse_faults
from simulators.modbus.meter import MeterSpec, SimMeter, load_profile, water_profile


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _values(meter: SimMeter) -> dict[str, float]:
    model = meter.model
    words: dict[tuple[int, int], int] = {}
    blocks = ((4, 0, 76), (4, 0x156, 2)) if model.name.startswith("eastron") else ((3, 0, 18),)
    for fc, start, count in blocks:
        words.update(words_of(fc, start, meter.answer(fc, start, count)))
    values, errors = decode(model.registers, words)
    assert errors == []
    return {v.quantity: v.value for v in values}


def test_energy_only_grows_over_a_day_and_follows_the_load_profile() -> None:
    clock = Clock()
    meter = SimMeter(MeterSpec(1, "eastron-sdm630"), clock=clock)
    last = _values(meter)["energy_import"]
    by_hour: dict[int, float] = {}
    for _step in range(24 * 12):
        clock.t += 300
        v = _values(meter)
        assert v["energy_import"] >= last
        by_hour.setdefault(int((8 + clock.t / 3600) % 24), v["power_active"])
        last = v["energy_import"]
        assert 220 < v["voltage_l1"] < 240
        assert 49.8 < v["frequency"] < 50.2
        assert v["energy_absolute"] == pytest.approx(
            v["energy_import"] + v["energy_export"], rel=1e-6
        )
    assert by_hour[19] > 2 * by_hour[3]  # evening peak against the night
    assert load_profile(19.5) > load_profile(3)


def test_water_flows_by_time_of_day() -> None:
    assert water_profile(7.0) > 10 * water_profile(3.0)
    clock = Clock()
    meter = SimMeter(MeterSpec(2, "dynaflox-ultrad"), clock=clock)
    start = _values(meter)["volume"]
    clock.t += 3600
    assert _values(meter)["volume"] > start


def test_rollover_fault_wraps_the_counter_at_its_digits() -> None:
    clock = Clock()
    meter = SimMeter(MeterSpec(1, "generic", faults=Faults(rollover=True)), clock=clock)
    before = _values_generic(meter)
    assert before > 1e9 - 1
    clock.t += 3600
    after = _values_generic(meter)
    assert after < 100  # 10^9 kWh wrapped to a small number


def _values_generic(meter: SimMeter) -> float:
    words = words_of(3, 0, meter.answer(3, 0, 12))
    values, _ = decode(meter.model.registers, words)
    return {v.quantity: v.value for v in values}["energy_import"]


def test_stuck_meter_repeats_itself() -> None:
    clock = Clock()
    meter = SimMeter(MeterSpec(1, "eastron-sdm120", faults=Faults(stuck=True)), clock=clock)
    first = meter.answer(4, 0, 76)
    clock.t += 600
    assert meter.answer(4, 0, 76) == first


def test_speed_makes_a_day_pass_in_seconds() -> None:
    clock = Clock()
    meter = SimMeter(MeterSpec(1, "eastron-sdm630", speed=3600), clock=clock)
    e0 = _values(meter)["energy_import"]
    clock.t += 24
    assert _values(meter)["energy_import"] - e0 > 10  # a day's kWh


def test_bus_is_silent_for_unknown_units_and_answers_known() -> None:
    bus = SimBus([MeterSpec(3, "eastron-sdm630")])
    assert bus.handle(9, read_request_pdu(4, 0, 2)).pdu is None
    answer = bus.handle(3, read_request_pdu(4, 0, 2)).pdu
    assert answer is not None
    assert answer[:2] == bytes((4, 4))
    assert bus.handle(3, bytes((6, 0, 1, 0, 1))).pdu == exception_pdu(6, 1)
    tcp_bus = SimBus([MeterSpec(3, "eastron-sdm630")], unknown_unit_silent=False)
    assert tcp_bus.handle(9, read_request_pdu(4, 0, 2)).pdu == exception_pdu(4, 0x0B)


def test_fault_strings() -> None:
    f = parse_faults("no_answer=0.2,late=0.3@0.1,crc,exception=2@0.5,split,disappear=60/10")
    assert f == Faults(
        no_answer=0.2,
        late_s=0.3,
        late_p=0.1,
        crc_error=1.0,
        exception_code=2,
        exception_p=0.5,
        split=True,
        disappear_every_s=60,
        disappear_for_s=10,
    )
    assert f.gone(55)
    assert not f.gone(45)
    for bad in ("nope", "no_answer=2", "late=x", "disappear=10/20", "exception=300"):
        with pytest.raises(FaultSpecError):
            parse_faults(bad)


def test_fault_probabilities_hold() -> None:
    rng = random.Random(4)
    f = Faults(no_answer=0.25)
    silent = sum(decide(f, rng, 0).silent for _ in range(4000))
    assert 850 < silent < 1150
    assert not any(decide(Faults(), rng, 0).silent for _ in range(100))
    assert ModelCatalog().get("generic").limits.max_registers == 125


def test_a_meter_refuses_what_its_model_says_it_refuses() -> None:
    bus = SimBus([MeterSpec(7, "dynaflox-ultrad"), MeterSpec(3, "eastron-sdm630")])
    ok = bus.handle(7, read_request_pdu(3, 0, 18)).pdu
    assert ok is not None
    assert ok[:2] == bytes((3, 36))
    # past register 17, which its document does not list: illegal data address
    assert bus.handle(7, read_request_pdu(3, 16, 4)).pdu == exception_pdu(3, 2)
    assert bus.handle(7, read_request_pdu(3, 100, 1)).pdu == exception_pdu(3, 2)
    # more than its 22 registers in one request: illegal data value
    assert bus.handle(7, read_request_pdu(3, 0, 23)).pdu == exception_pdu(3, 3)
    # an SDM630 answers 80 registers, not 81; registers it does not use read 0
    assert bus.handle(3, read_request_pdu(4, 0, 81)).pdu == exception_pdu(4, 3)
    gap = bus.handle(3, read_request_pdu(4, 0x12, 2)).pdu
    assert gap == bytes((4, 4, 0, 0, 0, 0))
