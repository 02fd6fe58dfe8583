"""The histories of tests/crosscheck (rare paths, agreed by an implementation written apart from
invrec's) through the costing stage and the row-by-row reference, entry by entry, with the
invariants of costing.md §13."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.costing import cost_ledger
from tests.invariants import check_all
from tests.reference import reference_book
from tests.reference.adjust import first_allowed_date
from tests.reference.cases import read_case
from tests.strategies import History, _history
from tests.test_differential import assert_same_ledger_as

CROSSCHECK = Path(__file__).parent / "crosscheck"
# R170.15: here the stage's rounds settle on another fixed point of R60 than the reference's
# order, one the reference's own rounds accept (`assert_same_ledger_as`)
ANOTHER_FIXED_POINT = {"average_reval_zero_pool"}


def _history_of(folder: Path) -> History:
    transactions, items, periods, settings = read_case(folder)
    accounting = folder / "accounting_periods.csv"
    accounting_rows = (pl.read_csv(accounting, schema={"starting_date": pl.Date}).to_dicts()
                       if accounting.is_file() else [])
    return _history(transactions.to_dicts(), items.to_dicts(), settings, periods.to_dicts(),
                    accounting_rows)


@pytest.mark.parametrize("case", sorted(p.name for p in CROSSCHECK.iterdir() if p.is_dir()))
def test_crosscheck_history_matches_the_reference(case: str) -> None:
    h = _history_of(CROSSCHECK / case)
    book = reference_book(h.transaction_rows, h.item_rows, h.settings, h.period_rows,
                          h.accounting_period_rows)
    got = cost_ledger(h.transactions, h.items, h.inventory_periods, h.settings,
                      h.accounting_periods)
    assert got.item_ledger_entries.height == len(book.entries)
    assert assert_same_ledger_as(got, book, h) == (
        "compared: another fixed point of R60 (R170.15's order not followed)"
        if case in ANOTHER_FIXED_POINT else "compared")
    check_all(got.item_ledger_entries, got.item_application_entries, got.value_entries,
              h.items, first_allowed_date(h.settings, h.period_rows),
              h.settings.amount_rounding_precision, transactions=h.transactions)


def test_every_crosscheck_folder_is_a_history() -> None:
    """A folder without its transactions would be a case that tests nothing."""
    folders = [p for p in CROSSCHECK.iterdir() if p.is_dir()]
    assert len(folders) == 69
    assert all((p / "transactions.csv").is_file() and (p / "items.csv").is_file()
               for p in folders)
