"""`windows.window_max` against the obvious scan of every event of the key, and the events the
fixed-capacity checks feed it (`priority.taken_stamps`) against their definition."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.costing.priority import taken_stamps
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


# entries 1..n: (inbound?, key_id, transaction_no, day); a subset of them is `entries`
entries_st = st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.integers(1, 40),
                                st.integers(0, 30)), min_size=1, max_size=25)


@settings(max_examples=300, deadline=None)
@given(entries_st, st.data())
def test_taken_stamps_are_the_outbounds_applications_to_stock_on_hand(rows, data) -> None:
    """Per application of an outbound of `entries` to an earlier inbound of `entries`: the
    outbound's key and transaction, and the inbound's (posting date, entry number) stamp."""
    n = len(rows)
    kept = data.draw(st.lists(st.integers(1, n), unique=True, min_size=1))
    apps = data.draw(st.lists(st.tuples(st.integers(1, n + 3), st.integers(1, n + 3),
                                        st.integers(1, 9)), max_size=30))
    day0 = dt.date(2024, 1, 1)
    entries = pl.DataFrame(
        [(e, rows[e - 1][0], rows[e - 1][1], rows[e - 1][2], day0 + dt.timedelta(rows[e - 1][3]))
         for e in sorted(kept)],
        schema={"entry_no": pl.Int64, "inbound": pl.Boolean, "key_id": pl.Int64,
                "transaction_no": pl.Int64, "posting_date": pl.Date}, orient="row")
    applications = pl.DataFrame(apps, schema={"inbound": pl.Int64, "outbound": pl.Int64,
                                              "units": pl.Int64}, orient="row")
    want = sorted(
        (rows[o - 1][1], rows[o - 1][2], (rows[i - 1][3] + (day0 - dt.date(1970, 1, 1)).days)
         * (1 << 32) + i)
        for i, o, _ in apps
        if i < o and o in kept and i in kept and not rows[o - 1][0]
    )
    got = taken_stamps(entries, applications)
    assert sorted(got.iter_rows()) == want
