"""FIFO quantity application as an interval overlap (pipelines/costing/overlap.py) against a
unit-by-unit pairing of the two streams."""

from __future__ import annotations

import itertools

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipelines.costing.overlap import overlap

_STREAM = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), max_size=12)


def _frame(rows: list[tuple[int, int]], column: str, first_entry: int) -> pl.DataFrame:
    rows = sorted(rows, key=lambda row: row[0])  # each key's rows together, keys in order
    return pl.DataFrame(
        {"key_id": [k for k, _ in rows], column: [u for _, u in rows],
         "entry_no": list(range(first_entry, first_entry + len(rows)))},
        schema={"key_id": pl.Int64, column: pl.Int64, "entry_no": pl.Int64})


def _unit_by_unit(ins: pl.DataFrame, outs: pl.DataFrame) -> list[tuple[int, int, int]]:
    """Per key, the i-th inbound unit meets the i-th outbound unit; a pair's units summed."""
    pairs = []
    for key in sorted(set(ins["key_id"]) | set(outs["key_id"])):
        units_in = [e for k, cap, e in ins.iter_rows() if k == key for _ in range(cap)]
        units_out = [e for k, n, e in outs.iter_rows() if k == key for _ in range(n)]
        pairs += list(zip(units_in, units_out, strict=False))
    return [(i, o, len(list(run))) for (i, o), run in itertools.groupby(pairs)]


@given(_STREAM, _STREAM)
def test_overlap_pairs_the_units_of_both_streams_in_order(ins, outs) -> None:
    stream_in, stream_out = _frame(ins, "cap", 1), _frame(outs, "units", 100)
    found = overlap(stream_in, stream_out)
    assert list(found.iter_rows()) == _unit_by_unit(stream_in, stream_out)
