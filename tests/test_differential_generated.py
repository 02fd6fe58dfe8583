"""The costing stage against the row-by-row reference on generated companies (`invrec generate`).

The hypothesis strategies draw small histories aimed at one rule each; the generator writes what a
company's year looks like: every transaction type mixed on a dozen items of every costing method,
partial invoices, charges after the sale, transfers, returns, back-dated postings and month-end
revaluations. Here a seed and the settings are drawn, the company generated, and both ledgers
compared entry by entry, for every average cost period and both calculation types (R90, R91).
"""

from __future__ import annotations

import json
import tempfile
import tomllib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from pipelines.costing import cost_ledger
from pipelines.generate import generate
from pipelines.ingest import read_input
from pipelines.settings import AVERAGE_COST_CALC_TYPES, AVERAGE_COST_PERIODS
from tests.reference import frames, reference_book
from tests.test_differential import assert_same_ledger

COMPANIES = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))


def _with_settings(folder: Path, period: str, calc_type: str, allow_from: str | None) -> None:
    """Rewrites the generated settings; R85 allows AVERAGE revaluations only on the last day of
    an average cost period, and the generator dates them at month ends, so under other periods
    than day and month they are left out."""
    values = tomllib.loads((folder / "settings.toml").read_text()) | {
        "average_cost_period": period, "average_cost_calc_type": calc_type}
    if allow_from:
        values["allow_posting_from"] = allow_from
    (folder / "settings.toml").write_text(  # JSON's scalars are TOML's
        "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items()))
    if period not in ("day", "month"):
        tx = pl.read_csv(folder / "transactions.csv", infer_schema=False)
        average = pl.read_csv(folder / "items.csv", infer_schema=False).filter(
            pl.col("costing_method") == "AVERAGE").get_column("item_no")
        tx.filter(~((pl.col("type") == "revaluation") & pl.col("item_no").is_in(average.implode()))
                  ).write_csv(folder / "transactions.csv")


def _both(inputs):
    """The costing stage's ledger and the reference's book of the same input folder."""
    got = cost_ledger(inputs.transactions, inputs.items, inputs.inventory_periods,
                      inputs.settings, inputs.accounting_periods)
    accounting = ([] if inputs.accounting_periods is None
                  else inputs.accounting_periods.to_dicts())
    return got, reference_book(inputs.transactions.to_dicts(), inputs.items.to_dicts(),
                               inputs.settings, inputs.inventory_periods.to_dicts(), accounting)


@pytest.mark.slow
@COMPANIES
@given(seed=st.integers(0, 2**31 - 1), period=st.sampled_from(AVERAGE_COST_PERIODS),
       calc_type=st.sampled_from(AVERAGE_COST_CALC_TYPES),
       allow_from=st.sampled_from([None, "2024-04-01"]))
def test_generated_companies_match_the_reference(seed, period, calc_type, allow_from) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, 1500, items=8, seed=seed, gl=False, months=9)
        _with_settings(folder, period, calc_type, allow_from)
        inputs = read_input(folder)
    got, book = _both(inputs)
    note(f"seed={seed}, {period}, {calc_type}, allow_posting_from={allow_from}, "
         f"{inputs.transactions.height} transactions, unsettled: {book.unsettled}")
    assert_same_ledger(got, frames(book))


@pytest.mark.slow
@COMPANIES
@given(seed=st.integers(0, 2**31 - 1),
       scale=st.sampled_from(["0.37", "1.25", "0.013", "2.49", "1.237", "100.001", "12.347"]))
def test_generated_companies_with_decimal_quantities_match_the_reference(seed, scale) -> None:
    """Quantities of two and three decimals (every quantity of a generated company times
    `scale`, so what invoices and returns may take scales with it) and unit costs of five: the
    same ledger as the reference's exact arithmetic, and every quantity and amount of it the
    float of its decimal (quantities are counted in millionths, `ledger.quantity_of`; posted
    amounts near a tie are rounded on integers, `ledger.posted_amounts`)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, 1500, items=8, seed=seed, gl=False, months=9)
        tx = pl.read_csv(folder / "transactions.csv", infer_schema=False)
        decimals = len(scale.split(".")[1])
        tx.with_columns(quantity=(pl.col("quantity").cast(pl.Float64) * float(scale))
                        .round(decimals),
                        unit_cost=(pl.col("unit_cost").cast(pl.Float64) * 1.0123457).round(5),
                        ).write_csv(folder / "transactions.csv")
        inputs = read_input(folder)
    got, book = _both(inputs)
    note(f"seed={seed}, scale={scale}, unsettled: {book.unsettled}")
    assert_same_ledger(got, frames(book))
    for table in got[:3]:
        for name, dtype in table.schema.items():
            if dtype == pl.Float64:
                places = 6 if "quantity" in name else 5 if name == "cost_per_unit" else 2
                values = table.get_column(name).drop_nulls()
                assert values.equals(values.round(places)), f"{name}: not a decimal of {places}"
