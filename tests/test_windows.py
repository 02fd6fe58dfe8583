"""`windows.window_max` against the obvious scan of every event of the key."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.costing.windows import NONE, window_max

events_st = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 60), st.integers(-50, 50)),
                     max_size=80)
queries_st = st.lists(st.tuples(st.integers(0, 4), st.integers(-2, 62), st.integers(-2, 62)),
                      min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(events_st, queries_st)
def test_window_max_is_the_maximum_over_the_keys_events_in_the_window(events, queries) -> None:
    ev = pl.DataFrame(events, schema=["key_id", "transaction_no", "value"], orient="row")
    q = pl.DataFrame(queries, schema=["key_id", "lo", "hi"], orient="row")
    want = [max((v for k, t, v in events if k == key and lo <= t < hi), default=NONE)
            for key, lo, hi in queries]
    assert window_max(q, ev).to_list() == want


def test_a_window_of_many_events_uses_the_upper_levels() -> None:
    """1,000 events of one key: windows of every length up to all of them (ten levels)."""
    ev = pl.DataFrame({"key_id": [7] * 1000, "transaction_no": range(1000),
                       "value": [(i * 7919) % 1000 for i in range(1000)]})
    q = pl.DataFrame({"key_id": [7, 7, 7, 6], "lo": [0, 10, 999, 0], "hi": [1000, 523, 1000, 9]})
    values = ev["value"].to_list()
    assert window_max(q, ev).to_list() == [max(values), max(values[10:523]), values[999], NONE]
