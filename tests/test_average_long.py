"""Issue 5: a pool with thousands of periods stays exact to the cent (no drift, no underflow).

Ten years of daily trading in one AVERAGE item, checked decrease by decrease against R96 written
as a plain loop here (one pool, every purchase invoiced, stock never runs out), for daily and
monthly periods.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipelines.costing import cost_ledger
from pipelines.costing.average import period_end
from pipelines.rounding import round_value
from pipelines.settings import Settings
from tests.test_costing import NO_PERIODS, items, txs

START, DAYS = dt.date(2015, 1, 1), 3_652


def _history(seed: int) -> list[tuple]:
    rng = random.Random(seed)
    rows, stock = [], 0
    for day in range(DAYS):
        date = START + dt.timedelta(days=day)
        if stock < 50 or rng.random() < 0.3:
            qty = rng.randint(20, 80)
            rows.append((date, "purchase", qty, rng.randint(900, 1_300) / 100, None))
            stock += qty
        qty = rng.randint(1, min(stock, 25))
        rows.append((date, "sale", qty, None, None))
        stock -= qty
    return rows


def _expected(rows: list[tuple], settings: Settings) -> list[float]:
    """R94/R96 by hand: per period, its increases enter first, then its decreases in order."""
    ends = pl.Series([r[0] for r in rows]).to_frame("d").select(
        period_end(pl.col("d"), settings)).to_series().to_list()
    q = c = 0.0
    costs: dict[int, float] = {}
    for end in sorted(set(ends)):
        for row, e in zip(rows, ends, strict=True):
            if e == end and row[1] == "purchase":
                q += row[2]
                c += round_value(row[2] * row[3], 0.01)
        for n, (row, e) in enumerate(zip(rows, ends, strict=True)):
            if e == end and row[1] == "sale":
                cost = -round_value(c * row[2] / q, 0.01)
                costs[n] = cost
                q -= row[2]
                c = round(c + cost, 2)
    return [costs[n] for n in sorted(costs)]


@pytest.mark.slow
@pytest.mark.parametrize("period", ["day", "month"])
def test_ten_years_of_periods_stay_exact(period: str) -> None:
    rows = _history(seed=11)
    settings = Settings(average_cost_period=period)
    led = cost_ledger(txs(*rows), items("AVERAGE"), NO_PERIODS, settings)
    sales = led.item_ledger_entries.filter(pl.col("entry_type") == "Sale")
    assert sales.height > 3_600
    assert sales["cost_amount_actual"].to_list() == _expected(rows, settings)


def _long_run(seed: int) -> list[tuple]:
    """One period of 1,200 small sales from a pool whose unit cost sits near a half cent, so
    each sale's rounding passes a residual to the next (R96)."""
    rng = random.Random(seed)
    rows = [(START, "purchase", 1_000, 3.3351, None), (START, "purchase", 2_000, 3.3349, None)]
    for n in range(1_200):
        rows.append((START + dt.timedelta(days=n * 3 // 10), "sale", rng.randint(1, 2), None,
                     None))
    return rows


@pytest.mark.slow
def test_a_long_run_of_residual_passing_decreases_is_exact(monkeypatch) -> None:
    """More than the whole-array passes can settle: the segments still moving are valued
    exactly (average._Pools.exact_in), checked sale by sale."""
    from pipelines.costing import average

    calls = []
    exact_in = average._Pools.exact_in
    monkeypatch.setattr(average._Pools, "exact_in",
                        lambda self, t, moving: calls.append(len(moving)) or exact_in(
                            self, t, moving))
    rows = _long_run(seed=5)
    settings = Settings(average_cost_period="year")
    led = cost_ledger(txs(*rows), items("AVERAGE"), NO_PERIODS, settings)
    sales = led.item_ledger_entries.filter(pl.col("entry_type") == "Sale").sort("entry_no")
    assert calls, "the whole-array passes settled alone: the test no longer reaches exact_in"
    assert sales["cost_amount_actual"].to_list() == _expected(rows, settings)


@pytest.mark.parametrize("window", [1, 4, 64, 1_000])
def test_exact_valuation_makes_a_whole_period_exact_at_once(monkeypatch, window: int) -> None:
    """`exact_in` values a pool exactly from its first moving event, window by window
    (guesses from the unrounded pool, corrected by a scan over the cents they miss): called
    after the first whole-array pass, one call leaves nothing for the next pass to move (2
    passes), and the sales are R96's, sale by sale, whatever the window."""
    from pipelines.costing import average

    monkeypatch.setattr(average, "_WINDOW", window)

    passes = []
    average_costs = average.average_costs

    def counted(*args, **kwargs):
        found = average_costs(*args, **kwargs)
        passes.append(found[1])
        return found

    monkeypatch.setattr(average, "average_costs", counted)
    monkeypatch.setattr(average, "_WHOLE_ARRAY_PASSES", 1)
    rows = _long_run(seed=5)[:300]
    settings = Settings(average_cost_period="year")
    led = cost_ledger(txs(*rows), items("AVERAGE"), NO_PERIODS, settings)
    sales = led.item_ledger_entries.filter(pl.col("entry_type") == "Sale").sort("entry_no")
    assert passes[0] == 2
    assert sales["cost_amount_actual"].to_list() == _expected(rows, settings)


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.lists(st.integers(0, 9), min_size=9,
                                                      max_size=9)), max_size=40))
def test_composed_state_maps_are_the_states_row_by_row(rows) -> None:
    """`_compose` (exact_in's scan): per row the state after it, from m = 0 at its group's
    start, through the maps of the rows before it; 9 is out of range and stays out."""
    from pipelines.costing import average

    groups = np.array(sorted(group for group, _ in rows), dtype=np.int64)
    maps = np.array([m for _, m in rows], dtype=np.int8).reshape(len(rows), 9)
    expected, state = [], None
    for i, group in enumerate(groups):
        if i == 0 or group != groups[i - 1]:
            state = average._DRIFT
        state = 9 if state == 9 else int(maps[i, state])
        expected.append(state)
    assert average._compose(maps, groups).tolist() == expected
