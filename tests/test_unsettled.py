"""R60: an item whose costs still change in round 100 is left unadjusted, named in a warning-level
asset check and in the run's summary, and the run goes on (BC marks it as not adjusted)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import polars as pl
import pytest

from assets.cli import main
from pipelines.costing import cost_ledger
from pipelines.settings import Settings
from tests._ingest_company import INVENTORY_POSTING_SETUP, ITEMS, company
from tests._ingest_company import tx as csv_tx
from tests._run_company import ROWS
from tests.reference import reference_ledger
from tests.reference.cases import ITEM_DTYPES, PERIOD_DTYPES, TRANSACTION_DTYPES
from tests.test_differential import assert_same_ledger
from tests.test_differential_average import AVERAGE_ITEM
from tests.test_reference import ITEM, D, tx

CYCLES = 20
SETTINGS = Settings(average_cost_calc_type="item_location_variant", average_cost_period="day")


def _cycling(first_tx: int, item: str) -> list[dict]:
    """One unit bought at 20.00 goes "" -> BLUE and back (fixed-applied to the to-leg) CYCLES
    times on the same day, then a charge of -10.00. Each from-leg is valued by the "" pool, which
    holds every returning to-leg: the costs move by a factor CYCLES/(CYCLES+1) a round, so from
    20.00 towards 10.00 they are still moving, by cents, in round 100."""
    rows = [tx(first_tx, D(2020, 1, 1), "purchase", 1, 20, item=item)]
    no = first_tx + 1
    for _ in range(CYCLES):
        rows.append(tx(no, D(2020, 1, 1), "transfer", 1, item=item) | {"to_location_code": "BLUE"})
        rows.append(tx(no + 1, D(2020, 1, 1), "transfer", 1, loc="BLUE", applies=no, item=item)
                    | {"to_location_code": ""})
        no += 2
    rows.append(tx(no, D(2020, 1, 2), "item_charge", applies=first_tx, amount=-10, item=item))
    return rows


def test_an_item_that_does_not_settle_keeps_its_posted_amounts() -> None:
    """The cycling AVERAGE item is named and gets no adjustment entry; a FIFO item in the same
    run with a late invoice is still adjusted; both exactly as the reference."""
    fifo = ITEM | {"item_no": "FIFO1"}
    average = AVERAGE_ITEM | {"item_no": "AVG1"}
    rows = [tx(1, D(2020, 1, 1), "purchase_receipt", 2, 5, item="FIFO1"),
            tx(2, D(2020, 1, 2), "sale", 2, item="FIFO1"),
            tx(3, D(2020, 1, 3), "purchase_invoice", 2, 6, applies=1, item="FIFO1"),
            *_cycling(4, "AVG1")]
    got = cost_ledger(pl.DataFrame(rows, schema=TRANSACTION_DTYPES, orient="row"),
                      pl.DataFrame([fifo, average], schema=ITEM_DTYPES, orient="row"),
                      pl.DataFrame(schema=PERIOD_DTYPES), SETTINGS)
    want = reference_ledger(rows, [fifo, average], SETTINGS, [])
    assert got.unsettled_items.get_column("item_no").to_list() == ["AVG1"]
    adjusted = got.value_entries.filter(pl.col("adjustment")).join(
        got.item_ledger_entries.select(item_ledger_entry_no="entry_no", item_no="item_no"),
        on="item_ledger_entry_no")
    assert adjusted.get_column("item_no").unique().to_list() == ["FIFO1"]
    assert adjusted.get_column("cost_amount_actual").sum() == pytest.approx(-2.0)
    assert_same_ledger(got, want)


def test_revaluations_of_an_unsettled_item_come_from_the_posting_amounts() -> None:
    """R60, R85: a per-pool revaluation of the item after the cycles revalues the unit on hand
    (the last to-leg); the item does not settle, so its amount is computed from the posted
    amounts, as the reference computes it."""
    rows = _cycling(1, "ITEM1")
    rows.append(tx(len(rows) + 1, D(2020, 1, 3), "revaluation", None, 15))
    got = cost_ledger(pl.DataFrame(rows, schema=TRANSACTION_DTYPES, orient="row"),
                      pl.DataFrame([AVERAGE_ITEM], schema=ITEM_DTYPES, orient="row"),
                      pl.DataFrame(schema=PERIOD_DTYPES), SETTINGS)
    want = reference_ledger(rows, [AVERAGE_ITEM], SETTINGS, [])
    assert got.unsettled_items.get_column("item_no").to_list() == ["ITEM1"]
    revaluations = got.value_entries.filter(pl.col("entry_type") == "Revaluation")
    # the "" pool holds 20.00 - 10.00 (the legs cancel): 15.00 - 10.00
    assert revaluations.get_column("cost_amount_actual").to_list() == [5.0]
    assert_same_ledger(got, want)


@pytest.mark.parametrize(("bought", "moved", "cost"), [(1.5, 1, 0.05), (10001, 10000, 522.40)])
def test_a_diverging_pool_keeps_the_costs_at_posting_of_its_fixed_returns(
        bought: float, moved: float, cost: float) -> None:
    """R60, R97, R99 (found by hypothesis): under calc type item a purchase return fixed-applied
    to a transfer's to-leg is an ordinary member of the pool that values the from-leg, so the
    from-leg's cost reads its own negation with a gain of moved/(bought - moved): the rounds grow
    without end (to 1e25 in 100 rounds at a gain of 2; at 10,000 past the largest float: nan
    counts as moving, so the pool's own passes give up and `average_costs` names it stuck). The
    item does not settle, and the return keeps its cost at posting, minus the to-leg's: before
    the fix the cost at posting was read back as (base + target) - (target - at posting), which
    cancelled to 0.00 once the targets were large."""
    rows = [tx(1, D(2020, 1, 1), "purchase", bought, 0.05224),
            tx(2, D(2020, 1, 1), "transfer", moved) | {"to_location_code": "BLUE"},
            tx(3, D(2020, 1, 1), "purchase_return", moved, applies=2, loc="BLUE")]
    settings = Settings(average_cost_calc_type="item", average_cost_period="day")
    got = cost_ledger(pl.DataFrame(rows, schema=TRANSACTION_DTYPES, orient="row"),
                      pl.DataFrame([AVERAGE_ITEM], schema=ITEM_DTYPES, orient="row"),
                      pl.DataFrame(schema=PERIOD_DTYPES), settings)
    assert got.unsettled_items.get_column("item_no").to_list() == ["ITEM1"]
    costs = got.item_ledger_entries.sort("entry_no").get_column("cost_amount_actual").to_list()
    assert costs[1:] == [-cost, cost, -cost]  # round(0.08 / 1.5), round(522.45 * 10000 / 10001)
    assert got.value_entries.filter(pl.col("adjustment")).height == 0
    assert_same_ledger(got, reference_ledger(rows, [AVERAGE_ITEM], settings, []))


def test_a_settling_history_names_no_item() -> None:
    rows = _cycling(1, "ITEM1")[:3]  # one cycle, no charge: every cost 20.00 at once
    got = cost_ledger(pl.DataFrame(rows, schema=TRANSACTION_DTYPES, orient="row"),
                      pl.DataFrame([AVERAGE_ITEM], schema=ITEM_DTYPES, orient="row"),
                      pl.DataFrame(schema=PERIOD_DTYPES), SETTINGS)
    assert got.unsettled_items.height == 0
    assert_same_ledger(got, reference_ledger(rows, [AVERAGE_ITEM], SETTINGS, []))


@pytest.mark.slow
def test_run_warns_names_the_item_and_exits_0(tmp_path: Path) -> None:
    """`invrec run`: the costs_settled check fails at WARN, the summary names the item, exit 0."""
    lines = [csv_tx(6, "purchase", item="V", qty="1", cost="20", loc="RED")]
    no = 7
    for _ in range(CYCLES):
        lines += [csv_tx(no, "transfer", item="V", loc="RED", to="BLUE"),
                  csv_tx(no + 1, "transfer", item="V", loc="BLUE", to="RED", applies=str(no))]
        no += 2
    lines.append(csv_tx(no, "item_charge", item="V", amount="-10", applies="6",
                        date="2020-01-02"))
    data = company(
        tmp_path / "in", *ROWS[:5], *lines,
        items__csv=ITEMS + "V,Cycling item,AVERAGE,,,,RESALE,RETAIL\n",
        inventory_posting_setup__csv=INVENTORY_POSTING_SETUP + "RED,RESALE,2130,2131\n",
        settings__toml='average_cost_calc_type = "item_location_variant"\n'
                       'average_cost_period = "day"\n')
    out = tmp_path / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["run", "--data", str(data), "--out", str(out)])
    assert code == 0, stderr.getvalue()
    assert ("cost adjustment: 1 item(s) did not settle in 100 rounds and were left unadjusted "
            "(R60): V") in stdout.getvalue()
    ve = pl.read_parquet(out / "value_entries.parquet")
    ile = pl.read_parquet(out / "item_ledger_entries.parquet")
    v_entries = ile.filter(pl.col("item_no") == "V").get_column("entry_no")
    assert ve.filter(pl.col("item_ledger_entry_no").is_in(v_entries.implode())
                     & pl.col("adjustment")).height == 0
    # the FIFO item's charge still reaches its sales
    assert ve.filter(~pl.col("item_ledger_entry_no").is_in(v_entries.implode())
                     & pl.col("adjustment")).height > 0
