"""`frames.sort_ints`: the same order as `DataFrame.sort` on the same columns, packed or not."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipelines.frames import sort_ints

ROWS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 10**6)),
                max_size=40, unique=True)


@given(ROWS)
def test_packed_key_sorts_as_the_columns(rows: list[tuple[int, int, int]]) -> None:
    frame = pl.DataFrame(rows, schema=["a", "b", "c"], orient="row")
    assert sort_ints(frame, "a", "b", "c").rows() == sorted(rows)


def test_nulls_negatives_and_wide_values_fall_back_to_the_plain_sort() -> None:
    for a in ([3, None, 1], [3, -2, 1], [2**40, 5, 2**41]):
        frame = pl.DataFrame({"a": a, "b": [2**30, 7, 2**30 - 1], "i": [0, 1, 2]})
        assert sort_ints(frame, "a", "b").equals(frame.sort("a", "b"))
