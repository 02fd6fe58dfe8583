"""The fixed point's state keyed by entry number (pipelines/costing/by_entry.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines.costing import by_entry
from pipelines.costing.by_entry import ByEntry, Grouped
from pipelines.costing.fifo import RESULT_SCHEMA, NotYet


def results(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=RESULT_SCHEMA, orient="row")


D1, D2 = dt.date(2024, 1, 31), dt.date(2024, 2, 29)


@pytest.fixture(autouse=True, params=["positions", "mask"])
def path(request, monkeypatch):
    """Both ways a request is served: by row positions (few rows), by a mask over the frame."""
    monkeypatch.setattr(by_entry, "_FEW", 1 if request.param == "positions" else 10**9)


def test_put_appends_new_entries_and_overwrites_known_ones_in_place():
    state = ByEntry(results(), 10)
    state.put(results((7, -10.0, -10.0, D1), (3, -5.0, -5.0, D1)))
    state.put(results((3, -5.0, -6.0, D2), (9, -1.0, -1.0, D1)))
    assert_frame_equal(state.frame, results(
        (7, -10.0, -10.0, D1), (3, -5.0, -6.0, D2), (9, -1.0, -1.0, D1)))


def test_put_of_some_columns_leaves_the_others():
    state = ByEntry(results(), 10)
    state.put(results((7, -10.0, -10.0, D1), (3, -5.0, -5.0, D1)))
    state.put(pl.DataFrame({"entry_no": [7], "target": [-12.5]}))
    assert_frame_equal(state.frame, results((7, -10.0, -12.5, D1), (3, -5.0, -5.0, D1)))


def test_take_is_a_semi_join_in_stored_order():
    state = ByEntry(results(), 10)
    state.put(results((7, -10.0, -10.0, D1), (3, -5.0, -5.0, D1), (5, -2.0, -2.0, D2)))
    taken = state.take(pl.Series([5, 4, 7, 5]))  # 4 was never stored; 5 asked twice
    assert_frame_equal(taken, results((7, -10.0, -10.0, D1), (5, -2.0, -2.0, D2)))
    assert state.take(pl.Series([], dtype=pl.Int64)).height == 0


def test_frames_read_before_a_put_keep_their_values():
    """Rows taken (or the whole frame) before an update are not changed by it: the update
    writes into a copy of each column it changes when the column is shared."""
    state = ByEntry(results(), 10)
    state.put(results((7, -10.0, -10.0, D1), (3, -5.0, -5.0, D1)))
    before, taken = state.frame, state.take(pl.Series([3]))
    state.put(results((3, -5.0, -6.0, D2)))
    assert before.get_column("target").to_list() == [-10.0, -5.0]
    assert taken.get_column("target").to_list() == [-5.0]
    assert state.frame.get_column("target").to_list() == [-10.0, -6.0]


def test_keep_on_null_is_an_update_and_the_key_may_have_another_name():
    inbound = pl.DataFrame({"inbound": [4, 2], "target": [1.0, 2.0], "vdate": [D1, D1]})
    state = ByEntry(inbound, 5, key="inbound")
    state.put(pl.DataFrame({"inbound": [2, 4], "target": [3.0, None], "vdate": [None, D2]}),
              keep_on_null=True)
    assert_frame_equal(state.frame, inbound.update(
        pl.DataFrame({"inbound": [2, 4], "target": [3.0, None], "vdate": [None, D2]}),
        on="inbound"))
    assert state.frame.rows() == [(4, 1.0, D2), (2, 3.0, D1)]
    assert state.take(pl.Series([2])).rows() == [(2, 3.0, D1)]


def test_grouped_takes_every_row_of_the_asked_entries_in_frame_order():
    applications = pl.DataFrame({"outbound": [5, 2, 5, 7, 2, 5], "units": [1, 2, 3, 4, 5, 6]})
    by_outbound = Grouped(applications, "outbound", 9)
    assert_frame_equal(by_outbound.take(pl.Series([5, 2, 5, None, 8])),
                       applications.join(pl.DataFrame({"outbound": [5, 2]}), on="outbound",
                                         how="semi"))
    assert by_outbound.take(pl.Series([5, 2])).get_column("units").to_list() == [1, 2, 3, 5, 6]
    assert by_outbound.take(pl.Series([3, 8])).height == 0


@given(st.dictionaries(st.integers(-10, 30), st.floats(-5, 5, allow_nan=False), max_size=12),
       st.lists(st.none() | st.integers(-13, 40), max_size=20), st.sampled_from([1, 1000]))
def test_aligned_is_a_left_join_on_the_entry_number(right: dict, at: list, spread: int) -> None:
    """Row for row of `at`, the right row of that number (negative ones too: transaction
    numbers); null for a null or an unknown number, and for an empty right frame. With
    `spread` 1000 the keys are few over a wide range (searched, not mapped)."""
    right = {k * spread: v for k, v in right.items()}
    at = [None if a is None else a * spread for a in at]
    frame = pl.DataFrame({"entry_no": list(right), "value": list(right.values()),
                          "name": [f"e{k}" for k in right]},
                         schema={"entry_no": pl.Int64, "value": pl.Float64, "name": pl.String})
    found = by_entry.aligned(frame, "entry_no", pl.Series(at, dtype=pl.Int64))
    expected = pl.DataFrame({"i": pl.Series(at, dtype=pl.Int64)}).with_row_index().join(
        frame, left_on="i", right_on="entry_no", how="left").sort("index").drop("index", "i")
    assert_frame_equal(found, expected)


@given(st.lists(st.tuples(st.integers(1, 6), st.integers(1, 12), st.integers(-500, 500)),
                max_size=30),
       st.lists(st.tuples(st.integers(0, 7), st.integers(0, 13)), min_size=1, max_size=20))
def test_not_yet_sums_the_entries_after_each_ask(values, asks) -> None:
    """R50, `fifo.NotYet`: per (inbound, transaction) asked, the value of that inbound's source
    entries posted in later transactions, as a plain sum gives it; 0 for an inbound without
    late entries (entries 6 and 7 are not late, 0 and 7 have no entries)."""
    source = pl.DataFrame(
        [(e, tx, v / 100, 0.0) for e, tx, v in values],
        schema={"item_ledger_entry_no": pl.Int64, "transaction_no": pl.Int64,
                "cost_amount_actual": pl.Float64, "cost_amount_expected": pl.Float64},
        orient="row")
    inbound = pl.DataFrame({"inbound": range(8), "late": [e < 6 for e in range(8)]})
    got = NotYet(source, inbound).after(np.array([e for e, _ in asks]),
                                        np.array([tx for _, tx in asks]))
    want = [sum(v / 100 for e2, tx2, v in values if e2 == e and tx2 > tx) if e < 6 else 0.0
            for e, tx in asks]
    assert got.tolist() == pytest.approx(want)



@given(st.lists(st.lists(st.tuples(st.integers(1, 8), st.integers(-9999, 9999)), max_size=8),
                min_size=1, max_size=3))
def test_sums_per_entry_is_a_group_by_sum_whole_or_chunk_by_chunk(chunks: list) -> None:
    """Columns held in several chunks (a table built from parts) sum as one column does: entry
    by entry, zero where an entry has no row."""
    frames = [pl.DataFrame({"entry_no": [e for e, _ in rows], "cents": [c for _, c in rows]},
                           schema={"entry_no": pl.Int64, "cents": pl.Int64}) for rows in chunks]
    table = pl.concat(frames, rechunk=False).with_columns(amount=pl.col("cents") / 100)
    expected = [sum(c for rows in chunks for e, c in rows if e == entry) / 100
                for entry in range(1, 9)]
    for frame in (table, table.rechunk()):
        got = by_entry.sums_per_entry(frame.get_column("entry_no"), frame.select("amount"), 8)
        assert got.get_column("amount").round(2).to_list() == expected
