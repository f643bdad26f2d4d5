"""Hypothesis strategies for the serial meter protocols (IEC 62056-21, M-Bus), in one place."""

from __future__ import annotations

from hypothesis import strategies as st

from drivers.iec62056.datasets import DataSet, Value

obis_addresses = st.sampled_from(
    ["1.8.0", "1.8.1", "2.8.0", "1-0:1.8.0*255", "32.7.0", "14.7.0", "0.0.0", "C.1.0", "F.F"]
)
numbers = st.decimals(
    min_value=-999999, max_value=999999, places=3, allow_nan=False, allow_infinity=False
).map(lambda d: f"{d:.3f}")
units = st.sampled_from(["", "kWh", "Wh", "kW", "V", "A", "Hz"])
datasets = st.builds(
    lambda address, value, unit: DataSet(address=address, values=(Value(value, unit),)),
    obis_addresses,
    numbers,
    units,
)


@st.composite
def chunkings(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` cut into pieces at random places."""
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(data) - 1)), max_size=8)))
    pieces, last = [], 0
    for cut in cuts:
        if cut < len(data):
            pieces.append(data[last:cut])
            last = cut
    pieces.append(data[last:])
    return pieces


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    """``data`` with a few bytes flipped, dropped or inserted."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            op = draw(st.sampled_from(["flip", "drop", "insert"]))
            pos = draw(st.integers(0, max(0, len(out) - 1)))
            if op == "flip" and out:
                out[pos] ^= draw(st.integers(1, 255))
            elif op == "drop" and out:
                del out[pos]
            else:
                out.insert(pos, draw(st.integers(0, 255)))
        return bytes(out)

    return build()
