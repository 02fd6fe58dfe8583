"""Costing in parts of the items (`pipelines/costing/parts.py`) gives exactly one run's ledger.

Large histories settle on parts side by side; small ones, and every other test, in one run. So
here the parts are forced on small histories: random ones of every type and method, generated
companies (with revaluations, under every period kind and calculation type), and the sample
company; every table must be equal to one run's, row for row (the entry numbers included).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines.costing import cost_ledger
from pipelines.costing.parts import item_parts, parts_for
from pipelines.errors import InputError, NotSupportedYet, Problem
from pipelines.generate import generate
from pipelines.ingest import read_input
from pipelines.settings import AVERAGE_COST_CALC_TYPES, AVERAGE_COST_PERIODS
from tests.strategies import History, histories
from tests.test_differential_generated import _with_settings

EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def _ledger(frames, parts: int):
    transactions, items, periods, s, accounting = frames
    try:
        return cost_ledger(transactions, items, periods, s, accounting, parts=parts)
    except InputError as error:  # NotSupportedYet included
        return error


def assert_parts_change_nothing(frames, parts: int) -> None:
    one, several = _ledger(frames, 1), _ledger(frames, parts)
    if isinstance(one, InputError):  # the parts report the problems of each part
        assert isinstance(several, type(one)), several
        assert {str(p) for p in several.problems} >= {str(p) for p in one.problems} or \
            isinstance(one, NotSupportedYet)
        return
    assert not isinstance(several, Exception), several
    for name, want, got in zip(one._fields, one, several, strict=True):
        try:
            assert_frame_equal(got, want)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None


def _frames(h: History):
    return h.transactions, h.items, h.inventory_periods, h.settings, h.accounting_periods


@pytest.mark.slow
@pytest.mark.parametrize("family", ["wide", "average"])
@EXAMPLES
@given(data=st.data(), parts=st.integers(2, 4))
def test_parts_give_one_runs_ledger_on_random_histories(family: str, data, parts: int) -> None:
    h = data.draw(histories(monotone_dates=False, max_transactions=60, **{family: True}))
    assert_parts_change_nothing(_frames(h), parts)


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**31 - 1), period=st.sampled_from(AVERAGE_COST_PERIODS),
       calc_type=st.sampled_from(AVERAGE_COST_CALC_TYPES), parts=st.integers(2, 5))
def test_parts_give_one_runs_ledger_on_generated_companies(seed, period, calc_type,
                                                            parts) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, 3000, items=12, seed=seed, gl=False, months=9)
        _with_settings(folder, period, calc_type, None)
        i = read_input(folder)
    assert_parts_change_nothing(
        (i.transactions, i.items, i.inventory_periods, i.settings, i.accounting_periods), parts)


def test_parts_give_one_runs_ledger_on_the_sample_company() -> None:
    i = read_input(SAMPLE)
    assert_parts_change_nothing(
        (i.transactions, i.items, i.inventory_periods, i.settings, i.accounting_periods), 3)


def test_parts_are_whole_items_of_about_equal_size() -> None:
    entries = pl.DataFrame({"item_no": ["A"] * 5 + ["B"] * 1 + ["C"] * 4 + ["D"] * 2})
    assert item_parts(entries, 2).rows() == [("A", 0), ("B", 0), ("C", 1), ("D", 1)]
    assert item_parts(entries, 3).get_column("part").to_list() == [0, 1, 1, 2]
    assert parts_for(3_999_999) == 1
    assert [parts_for(n) for n in (4_000_000, 8_300_000, 10_000_000)] == [2, 2, 2]
    assert [parts_for(n) for n in (10_000_001, 20_000_000, 20_000_001)] == [4, 4, 6]


def test_input_errors_of_several_parts_are_reported_together() -> None:
    from pipelines.costing.parts import run_parts

    def settle(no: int):
        if no == 1:
            return ("ok",)
        raise InputError([Problem("transactions", f"transaction_no={no}", "quantity", None,
                                  "R46: not enough stock")])

    with pytest.raises(InputError) as raised:
        run_parts(settle, [(0,), (1,), (2,)])
    assert [p.row for p in raised.value.problems] == ["transaction_no=0", "transaction_no=2"]
    assert run_parts(settle, [(1,), (1,)]) == [("ok",), ("ok",)]
