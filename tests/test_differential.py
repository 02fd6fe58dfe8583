"""The vectorized costing stage against the row-by-row reference, entry by entry (R10-R111).

Value entries are compared by content, never by entry number (R33): an adjustment's
`applies_to_entry` is replaced by the transaction and type of the value entry it names.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from polars.testing import assert_frame_equal

from pipelines.errors import NotSupportedYet
from schemas.base import columns
from schemas.ledger import ItemApplicationEntry, ItemLedgerEntry, ValueEntry
from tests.reference import reference_ledger
from tests.strategies import History, histories

try:
    from pipelines.costing import cost_ledger
except ImportError as exc:  # the stage is being written; the reference is tested on its own
    pytest.skip(f"pipelines.costing.cost_ledger not importable: {exc}", allow_module_level=True)

TOL = {"abs_tol": 1e-9, "rel_tol": 0.0}
EXAMPLES = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

VALUE_ORDER = ["item_ledger_entry_no", "entry_type", "adjustment", "posting_date",
               "transaction_no", "expected_cost", "applies_to_transaction_no",
               "applies_to_entry_type", "cost_amount_actual", "cost_amount_expected"]


def comparable_value_entries(ve: pl.DataFrame) -> pl.DataFrame:
    """Value entries without their numbers: applies_to_entry becomes (transaction_no, type)."""
    named = ve.select(applies_to_entry="entry_no", applies_to_transaction_no="transaction_no",
                      applies_to_entry_type="entry_type")
    return (ve.join(named, on="applies_to_entry", how="left")
            .drop("entry_no", "applies_to_entry")
            .sort(VALUE_ORDER, nulls_last=True))


def assert_same_ledger(got, want: dict[str, pl.DataFrame]) -> None:
    """Item ledger entries column for column; applications as a multiset; value entries by
    content. Amounts within 1e-9: both sides hold exact cents."""
    for name, model in (("item_ledger_entries", ItemLedgerEntry),
                        ("item_application_entries", ItemApplicationEntry),
                        ("value_entries", ValueEntry)):
        assert getattr(got, name).columns == columns(model), f"{name} columns"
    assert_frame_equal(got.item_ledger_entries.sort("entry_no"),
                       want["item_ledger_entries"].sort("entry_no"), **TOL)
    app_cols = columns(ItemApplicationEntry)
    assert_frame_equal(got.item_application_entries.sort(app_cols, nulls_last=True),
                       want["item_application_entries"].sort(app_cols, nulls_last=True), **TOL)
    assert_frame_equal(comparable_value_entries(got.value_entries),
                       comparable_value_entries(want["value_entries"]), **TOL)


def _reference(h: History) -> dict[str, pl.DataFrame]:
    return reference_ledger(h.transaction_rows, h.item_rows, h.settings, h.period_rows)


@pytest.mark.slow
@EXAMPLES
@given(histories(monotone_dates=True))
def test_date_ordered_histories_match_the_reference(h: History) -> None:
    got = cost_ledger(h.transactions, h.items, h.inventory_periods, h.settings)
    assert_same_ledger(got, _reference(h))


@pytest.mark.slow
@EXAMPLES
@given(histories(monotone_dates=False))
def test_back_dated_histories_match_the_reference(h: History) -> None:
    """R41/R44/R92 with back-dating; a history the stage declares NotSupportedYet is counted."""
    try:
        got = cost_ledger(h.transactions, h.items, h.inventory_periods, h.settings)
    except NotSupportedYet as exc:  # only this exact refusal is accepted, and it is reported
        event("cost_ledger: NotSupportedYet")
        note(f"NotSupportedYet: {exc}")
        return
    event("compared")
    assert_same_ledger(got, _reference(h))


def test_value_entry_comparison_ignores_numbers_but_not_content() -> None:
    """The comparison must not depend on value entry numbers (R33), and still see amounts."""
    from tests.test_reference import D, run, tx

    r = run(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 15), "sale", 1),
            tx(3, D(2020, 2, 10), "item_charge", applies=1, amount=2))
    ve = r["value_entries"]
    renumbered = ve.with_columns(entry_no=pl.col("entry_no") + 100,
                                 applies_to_entry=pl.col("applies_to_entry") + 100)
    assert_frame_equal(comparable_value_entries(ve), comparable_value_entries(renumbered))
    changed = ve.with_columns(cost_amount_actual=pl.col("cost_amount_actual") + 0.01)
    with pytest.raises(AssertionError):
        assert_frame_equal(comparable_value_entries(ve), comparable_value_entries(changed), **TOL)
