from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.modbus.models import ModelCatalog
from drivers.modbus.planner import (
    Cost,
    PlanError,
    Request,
    atoms,
    plan,
    plan_blocks,
    plan_each,
)
from drivers.modbus.types import Limits, Part, Register
from tests.support.modbus_strategies import limits, register_sets

costs = st.one_of(
    st.builds(Cost.rtu, baud=st.sampled_from([1200, 9600, 19200]), silence_s=st.floats(0, 0.1)),
    st.builds(Cost.tcp),
)


@given(register_sets(), limits, costs)
@settings(max_examples=150)
def test_plan_covers_everything_within_limits(
    regs: list[Register], lim: Limits, cost: Cost
) -> None:
    try:
        requests = plan(regs, lim, cost)
    except PlanError:
        assert any(a.end - a.start > lim.max_registers for a in atoms(regs))
        return
    for req in requests:
        assert 1 <= req.count <= lim.max_registers
        assert req.fc in (3, 4)
    for reg in regs:
        for p in reg.parts:
            # one request holds the whole value: no torn floats
            assert any(
                q.fc == reg.fc and q.address <= p.address and p.end <= q.end for q in requests
            )
    assert cost.of(requests) <= cost.of(plan_blocks(regs, lim)) + 1e-12
    assert len(requests) <= len(plan_blocks(regs, lim))
    assert len(requests) <= len(plan_each(regs))
    if lim.max_gap is not None:
        for req in requests:
            inside = [a for a in atoms(regs) if a.fc == req.fc and req.address <= a.start < req.end]
            for a, b in itertools.pairwise(inside):
                assert b.start - a.end <= lim.max_gap


def _rtu(model_name: str) -> tuple[Request, ...]:
    m = ModelCatalog().get(model_name)
    return plan(m.registers, m.limits, Cost.rtu(baud=9600, silence_s=m.limits.silence_s))


def test_sdm630_full_map_in_two_requests() -> None:
    assert _rtu("eastron-sdm630") == (Request(4, 0x0000, 76), Request(4, 0x0156, 2))


def test_sdm630_register_by_register_is_15_requests() -> None:
    m = ModelCatalog().get("eastron-sdm630")
    assert len(plan_each(m.registers)) == 15
    cost = Cost.rtu(baud=9600, silence_s=0.06)
    ratio = cost.of(plan_each(m.registers)) / cost.of(_rtu("eastron-sdm630"))
    assert ratio > 3


def test_sdm72d_respects_its_30_values() -> None:
    assert _rtu("eastron-sdm72d") == (
        Request(4, 0x0000, 18),
        Request(4, 0x0034, 24),
        Request(4, 0x0156, 2),
    )


def test_sdm120_gap_is_read_only_when_cheaper() -> None:
    # 0x20..0x46 is 38 unwanted registers (87 ms at 9600 8E1), more than one more request (83 ms)
    assert _rtu("eastron-sdm120") == (
        Request(4, 0x0000, 32),
        Request(4, 0x0046, 6),
        Request(4, 0x0156, 2),
    )
    # without the meter's 60 ms silence, a request is cheap and the gap is skipped too
    m = ModelCatalog().get("eastron-sdm120")
    fast = plan(m.registers, m.limits, Cost.tcp(round_trip_s=0.1))
    assert fast == (Request(4, 0x0000, 76), Request(4, 0x0156, 2))


def test_ultrad_in_one_request() -> None:
    assert _rtu("dynaflox-ultrad") == (Request(3, 0, 18),)


def test_function_codes_never_mix() -> None:
    regs = [Register("a", 3, (Part(0, "u16"),)), Register("b", 4, (Part(1, "u16"),))]
    assert plan(regs, Limits(), Cost.tcp()) == (Request(3, 0, 1), Request(4, 1, 1))


def test_max_gap_splits() -> None:
    regs = [Register("a", 3, (Part(0, "u16"),)), Register("b", 3, (Part(10, "u16"),))]
    assert len(plan(regs, Limits(max_gap=8), Cost.tcp())) == 2
    assert len(plan(regs, Limits(max_gap=9), Cost.tcp())) == 1


def test_value_wider_than_a_request_is_refused() -> None:
    with pytest.raises(PlanError, match="wider than max_registers=2"):
        plan([Register("a", 3, (Part(0, "u64"),))], Limits(max_registers=2), Cost.tcp())


def test_a_refused_block_is_split_into_the_wanted_registers_blocks() -> None:
    from drivers.modbus.planner import split
    from drivers.modbus.types import Limits, Part, Register

    regs = [Register(q, 3, (Part(a, "u32"),)) for q, a in (("a", 0), ("b", 2), ("c", 6), ("d", 20))]
    limits = Limits(max_registers=40)
    refused = Request(3, 0, 22)
    nothing = lambda fc, s, e: False  # noqa: E731
    assert split(refused, regs, limits, nothing) == (
        Request(3, 0, 4),
        Request(3, 6, 2),
        Request(3, 20, 2),
    )
    documented = lambda fc, s, e: e <= 8  # noqa: E731 - registers 0..7 may be read
    assert split(refused, regs, limits, documented) == (Request(3, 0, 8), Request(3, 20, 2))
    # a block of wanted registers only cannot be cut
    assert split(Request(3, 0, 4), regs, limits, nothing) == (Request(3, 0, 4),)
