from hypothesis import given
from hypothesis import strategies as st

from central.ingest.gaps import advance, fill


def test_advance_opens_gaps_and_sees_late_numbers() -> None:
    step = advance(None, [3, 4, 7, 9])
    assert (step.new_max, step.opened, step.late) == (9, ((0, 2), (5, 6), (8, 8)), ())
    step = advance(9, [6, 10, 9])
    assert (step.new_max, step.opened, step.late) == (10, (), (6, 9))


def test_fill_splits_a_gap() -> None:
    assert fill((5, 9), 7) == [(5, 6), (8, 9)]
    assert fill((5, 9), 5) == [(6, 9)]
    assert fill((5, 5), 5) == []


@given(st.permutations(list(range(40))), st.integers(1, 10))
def test_any_arrival_order_closes_every_gap(order: list[int], chunk: int) -> None:
    top: int | None = None
    gaps: list[tuple[int, int]] = []
    for i in range(0, len(order), chunk):
        step = advance(top, order[i : i + chunk])
        top = step.new_max
        gaps += step.opened
        for s in step.late:
            gaps = [p for g in gaps for p in (fill(g, s) if g[0] <= s <= g[1] else [g])]
    assert top == 39
    assert gaps == []
