"""Periodic average cost on hand-worked histories (R90-R103)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.costing import cost_ledger
from pipelines.costing.average import period_end
from pipelines.settings import Settings
from tests.test_costing import NO_PERIODS, items, txs

D = dt.date


def average(*rows, settings: Settings | None = None, accounting_periods=None):
    return cost_ledger(txs(*rows), items("AVERAGE"), NO_PERIODS,
                       settings or Settings(average_cost_period="month"), accounting_periods)


def costs(led) -> list[float]:
    return led.item_ledger_entries.get_column("cost_amount_actual").to_list()


def test_rounding_residual_travels_to_the_next_decrease_r96():
    led = average(
        (D(2020, 1, 1), "purchase", 3, 10 / 3, None),
        (D(2020, 1, 2), "sale", 1, None, None),
        (D(2020, 1, 3), "sale", 1, None, None),
        (D(2020, 1, 4), "sale", 1, None, None),
    )
    # round(10/3) = 3.33, round(6.67/2) = 3.34 (3.335 rounds up), 3.33 left: no Rounding entry
    assert costs(led) == [10.0, -3.33, -3.34, -3.33]
    assert led.value_entries.filter(pl.col("entry_type") == "Rounding").height == 0


def test_a_share_of_the_pool_a_hair_below_a_half_cent_rounds_down_r96():
    """R2 on the pool's shares: 49.993 of a pool of 100.001 units worth 266.67 is 133.3149999950,
    so 133.31, and the next decrease takes the rest without a Rounding entry; the same after a
    charge brings the pool to 266.67 (its first decrease had gone 133.32, then a cent back)."""
    sales = ((D(2024, 1, 2), "sale", 49.993, None, None),
             (D(2024, 1, 3), "sale", 50.008, None, None))
    led = average((D(2024, 1, 1), "purchase", 100.001, 2.66667, None), *sales)
    assert costs(led) == [266.67, -133.31, -133.36]
    assert led.value_entries.filter(pl.col("adjustment")).height == 0
    charged = average((D(2024, 1, 1), "purchase", 100.001, 2.0, None), *sales,
                      (D(2024, 1, 4), "item_charge", None, None, 1, {"amount": 66.67}))
    assert costs(charged) == [266.67, -133.31, -133.36]
    assert charged.value_entries.filter(pl.col("adjustment")).get_column(
        "cost_amount_actual").to_list() == [-33.32, -33.35]
    # whole quantities do it too once a pool holds more than 50,000 units
    whole = average((D(2024, 1, 1), "purchase", 100_001, 0.0026667, None),
                    (D(2024, 1, 2), "sale", 49_993, None, None))
    assert costs(whole) == [266.67, -133.31]


def test_one_unit_cost_per_period_even_before_the_receipt_r96():
    """R96's example (public case e10): both February decreases at -65.00."""
    led = average(
        (D(2023, 1, 1), "purchase", 1, 20.0, None),
        (D(2023, 1, 1), "purchase", 1, 40.0, None),
        (D(2023, 1, 1), "sale", 1, None, None),
        (D(2023, 2, 1), "sale", 1, None, None),
        (D(2023, 2, 2), "purchase", 1, 100.0, None),
        (D(2023, 2, 3), "sale", 1, None, None),
    )
    assert costs(led) == [20.0, 40.0, -30.0, -65.0, 100.0, -65.0]
    sales = led.value_entries.filter(pl.col("item_ledger_entry_type") == "Sale")
    assert sales.get_column("valued_by_average_cost").all()


def test_fixed_applied_return_keeps_its_cost_and_the_difference_stays_r153():
    """R153's exception: purchases 10 @ 10 and 10 @ 20, a sale of 10 at -150.00, then a return of
    10 fixed to the second purchase at -200.00: nothing open, -50.00 left in the pool."""
    led = average(
        (D(2020, 1, 1), "purchase", 10, 10.0, None),
        (D(2020, 1, 1), "purchase", 10, 20.0, None),
        (D(2020, 1, 2), "sale", 10, None, None),
        (D(2020, 1, 3), "purchase_return", 10, None, 2),
        settings=Settings(),  # average cost period day: the return is not in the sale's period
    )
    assert costs(led) == [100.0, 200.0, -150.0, -200.0]
    assert sum(costs(led)) == -50.0
    assert not led.item_ledger_entries.get_column("open").any()


def test_decrease_of_an_empty_pool_keeps_its_posting_cost_r102():
    led = average(
        (D(2020, 1, 1), "purchase", 1, 10.0, None),
        (D(2020, 1, 2), "sale", 1, None, None),
        (D(2020, 1, 3), "sale", 2, None, None),  # into negative inventory: posted at u0 = 10
        settings=Settings(average_cost_period="day"),
    )
    assert costs(led) == [10.0, -10.0, -20.0]


def test_late_invoice_reaches_every_later_period_r103():
    led = average(
        (D(2020, 1, 5), "purchase_receipt", 4, 10.0, None),
        (D(2020, 1, 20), "sale", 1, None, None),
        (D(2020, 2, 10), "sale", 1, None, None),
        (D(2020, 3, 15), "purchase_invoice", 4, 13.0, 1),
    )
    assert costs(led) == [52.0, -13.0, -13.0]
    adjustments = led.value_entries.filter(pl.col("adjustment")).select(
        "item_ledger_entry_no", "posting_date", "cost_amount_actual")
    assert adjustments.rows() == [(2, D(2020, 1, 20), -3.0), (3, D(2020, 2, 10), -3.0)]


def test_sales_return_of_an_average_sale_in_its_period_is_added_back_r94():
    led = average(
        (D(2020, 1, 1), "purchase", 2, 10.0, None),
        (D(2020, 1, 1), "purchase", 2, 20.0, None),
        (D(2020, 1, 10), "sale", 2, None, None),
        (D(2020, 1, 12), "sales_return", 1, None, 3),
        (D(2020, 1, 15), "sale", 3, None, None),
    )
    # pool 60 for 4: the sale -30.00, its return +15.00 added back, the last sale 45 for 3
    assert costs(led) == [20.0, 40.0, -30.0, 15.0, -45.0]


@pytest.mark.parametrize(("period", "day", "end"), [
    ("day", D(2024, 2, 29), D(2024, 2, 29)),
    ("week", D(2024, 2, 29), D(2024, 3, 3)),
    ("week", D(2024, 3, 3), D(2024, 3, 3)),
    ("month", D(2024, 2, 10), D(2024, 2, 29)),
    ("quarter", D(2024, 5, 10), D(2024, 6, 30)),
    ("year", D(2024, 5, 10), D(2024, 12, 31)),
])
def test_period_end_r91(period, day, end):
    frame = pl.DataFrame({"d": [day]})
    got = frame.select(period_end(pl.col("d"), Settings(average_cost_period=period)))
    assert got.item() == end


def test_accounting_periods_r91():
    periods = pl.DataFrame({"starting_date": [D(2020, 1, 1), D(2020, 1, 20), D(2020, 3, 1)]})
    led = average(
        (D(2020, 1, 1), "purchase", 2, 10.0, None),
        (D(2020, 1, 10), "sale", 1, None, None),
        (D(2020, 1, 21), "purchase", 1, 40.0, None),
        (D(2020, 2, 25), "sale", 1, None, None),
        settings=Settings(average_cost_period="accounting_period"), accounting_periods=periods,
    )
    # period 01-01..01-19: 20/2 -> -10; period 01-20..02-29: (10 + 40)/2 -> -25
    assert costs(led) == [20.0, -10.0, 40.0, -25.0]


def test_transfer_under_item_calc_type_changes_nothing_r99():
    led = average(
        (D(2020, 1, 1), "purchase", 2, 10.0, None, {"location_code": "BLUE"}),
        (D(2020, 1, 1), "purchase", 2, 30.0, None, {"location_code": "RED"}),
        (D(2020, 1, 5), "transfer", 1, None, None,
         {"location_code": "BLUE", "to_location_code": "RED"}),
        (D(2020, 1, 6), "sale", 1, None, None, {"location_code": "RED"}),
    )
    # one pool for the item: 80 for 4; the transfer is valued at 20.00 and changes nothing
    assert costs(led) == [20.0, 60.0, -20.0, 20.0, -20.0]


def test_transfer_under_item_location_variant_flows_between_pools_r100():
    led = average(
        (D(2020, 1, 1), "purchase", 2, 10.0, None, {"location_code": "BLUE"}),
        (D(2020, 1, 1), "purchase", 2, 30.0, None, {"location_code": "RED"}),
        (D(2020, 1, 5), "transfer", 1, None, None,
         {"location_code": "BLUE", "to_location_code": "RED"}),
        (D(2020, 1, 6), "sale", 1, None, None, {"location_code": "RED"}),
        settings=Settings(average_cost_period="month",
                          average_cost_calc_type="item_location_variant"),
    )
    # BLUE pool 20 for 2: transfer -10; RED pool 60 + 10 for 3: sale round(70/3) = -23.33
    assert costs(led) == [20.0, 60.0, -10.0, 10.0, -23.33]
