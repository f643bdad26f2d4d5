"""Hypothesis strategies for Modbus registers, models and frames (one place, reused)."""

from __future__ import annotations

from hypothesis import strategies as st

from drivers.modbus.types import WIDTH, Limits, Part, Register

register_types = st.sampled_from(sorted(WIDTH))
orders = st.sampled_from(["big", "little"])


@st.composite
def parts(draw: st.DrawFn, *, max_address: int = 400) -> Part:
    kind = draw(register_types)
    return Part(
        address=draw(st.integers(0, max_address)),
        type=kind,
        byte_order=draw(orders),
        word_order=draw(orders),
    )


@st.composite
def register_sets(draw: st.DrawFn, *, max_address: int = 400) -> list[Register]:
    """Registers with distinct quantities (they may overlap: the planner must cope)."""
    n = draw(st.integers(1, 40))
    out = []
    for i in range(n):
        out.append(
            Register(
                quantity=f"q{i}",
                fc=draw(st.sampled_from([3, 4])),
                parts=(draw(parts(max_address=max_address)),),
            )
        )
    return out


limits = st.builds(
    Limits,
    max_registers=st.integers(4, 125),
    max_gap=st.one_of(st.none(), st.integers(0, 50)),
)
