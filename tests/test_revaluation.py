"""Revaluation on hand-checked histories (R80-R85, R92, R101, R170.4)."""

from __future__ import annotations

import polars as pl

from pipelines.costing import cost_ledger
from pipelines.settings import Settings
from tests.test_costing import DEFAULT, NO_PERIODS, D, entry_costs, items, ledger, txs

REVAL = 0.0  # the quantity column is not used by revaluation rows (R170.13)


def revaluation_entries(led) -> list[tuple]:
    return (led.value_entries.filter(pl.col("entry_type") == "Revaluation")
            .select("item_ledger_entry_no", "transaction_no", "posting_date", "valuation_date",
                    "valued_quantity", "cost_amount_actual")
            .rows())


def test_revaluation_reaches_only_the_decreases_posted_after_it() -> None:
    """R80: the sale counted in r keeps its cost; R81: A = round(6·12) − round(6·10);
    R83: a later sale of 3 receives round(3·12/6) = 6.00 on top of its 30.00."""
    led = ledger((D(2020, 1, 1), "purchase", 10, 10.0, None),
                 (D(2020, 1, 10), "sale", 4, None, None),
                 (D(2020, 1, 31), "revaluation", REVAL, 12.0, None),
                 (D(2020, 2, 5), "sale", 3, None, None))
    assert revaluation_entries(led) == [(1, 3, D(2020, 1, 31), D(2020, 1, 31), 6.0, 12.0)]
    assert entry_costs(led) == [112.0, -40.0, -36.0]
    adjustment = led.value_entries.filter(pl.col("adjustment"))
    assert adjustment.select("item_ledger_entry_no", "posting_date", "cost_amount_actual").rows() \
        == [(3, D(2020, 2, 5), -6.0)]


def test_back_dated_revaluation_reaches_a_sale_dated_after_it() -> None:
    """R80/R83: a sale posted before R but dated after d is not counted (r = 10) and gets its
    share; the closed purchase forwards exactly its value (R76: no Rounding needed)."""
    led = ledger((D(2020, 1, 1), "purchase", 10, 10.0, None),
                 (D(2020, 1, 10), "sale", 4, None, None),
                 (D(2020, 1, 5), "revaluation", REVAL, 12.0, None),
                 (D(2020, 2, 5), "sale", 6, None, None))
    assert revaluation_entries(led) == [(1, 3, D(2020, 1, 5), D(2020, 1, 5), 10.0, 20.0)]
    assert entry_costs(led) == [120.0, -48.0, -72.0]
    # the sale posted before R keeps its valuation date (R92: R did not exist when applied)
    assert led.value_entries.filter(pl.col("item_ledger_entry_no") == 2)[
        "valuation_date"].unique().to_list() == [D(2020, 1, 10)]


def test_a_sale_posted_after_but_dated_before_the_revaluation_moves_to_its_date() -> None:
    """R92: the outbound's valuation date is the latest of its inbound's value entries."""
    led = ledger((D(2020, 1, 1), "purchase", 10, 10.0, None),
                 (D(2020, 1, 31), "revaluation", REVAL, 11.0, None),
                 (D(2020, 1, 15), "sale", 2, None, None))
    assert entry_costs(led) == [110.0, -22.0]
    sale = led.value_entries.filter(pl.col("item_ledger_entry_no") == 2)
    assert sale["valuation_date"].unique().to_list() == [D(2020, 1, 31)]
    assert sale["posting_date"].to_list() == [D(2020, 1, 15), D(2020, 1, 15)]


def test_revaluation_with_applies_to_revalues_that_entry_only() -> None:
    """R80, R81: only the named purchase; the sale takes round(2·25/5) = 10.00 from it."""
    led = ledger((D(2020, 1, 1), "purchase", 5, 10.0, None),
                 (D(2020, 1, 2), "purchase", 5, 20.0, None),
                 (D(2020, 1, 31), "revaluation", REVAL, 25.0, 2),
                 (D(2020, 2, 1), "sale", 7, None, None))
    assert revaluation_entries(led) == [(2, 3, D(2020, 1, 31), D(2020, 1, 31), 5.0, 25.0)]
    assert entry_costs(led) == [50.0, 125.0, -100.0]


def test_second_revaluation_starts_from_the_first() -> None:
    """R81: u counts the earlier revaluation (A/r): 30/3 + 3/3 = 11, so A = 31.50 − 33.00."""
    led = ledger((D(2020, 1, 1), "purchase", 3, 10.0, None),
                 (D(2020, 1, 31), "revaluation", REVAL, 11.0, None),
                 (D(2020, 2, 29), "revaluation", REVAL, 10.5, None),
                 (D(2020, 3, 1), "sale", 3, None, None))
    assert [r[-1] for r in revaluation_entries(led)] == [3.0, -1.5]
    assert entry_costs(led) == [31.5, -31.5]
    assert led.value_entries.filter(pl.col("entry_type") == "Rounding").height == 0


def test_a_receipt_not_yet_invoiced_is_not_revaluable() -> None:
    """R80: only entries completely invoiced before R are revalued (STANDARD aside)."""
    led = ledger((D(2020, 1, 1), "purchase_receipt", 5, 10.0, None),
                 (D(2020, 1, 31), "revaluation", REVAL, 12.0, None),
                 (D(2020, 2, 1), "purchase_invoice", 5, 10.0, 1),
                 (D(2020, 2, 28), "revaluation", REVAL, 12.0, None))
    assert revaluation_entries(led) == [(1, 4, D(2020, 2, 28), D(2020, 2, 28), 5.0, 10.0)]


def test_revaluation_of_a_transfer_to_leg_uses_its_adjusted_cost() -> None:
    """R81: a cost-receiving entry's unit value is its adjusted cost: the late invoice (110.00)
    reaches the to-leg, so A = round(10·13) − 110.00 = 20.00; the sale of 4 gets 44 + 8."""
    frame = txs((D(2020, 1, 1), "purchase_receipt", 10, 10.0, None),
                (D(2020, 1, 5), "transfer", 10, None, None, {"to_location_code": "BLUE"}),
                (D(2020, 1, 20), "purchase_invoice", 10, 11.0, 1),
                (D(2020, 1, 31), "revaluation", REVAL, 13.0, None),
                (D(2020, 2, 1), "sale", 4, None, None, {"location_code": "BLUE"}))
    led = cost_ledger(frame, items(), NO_PERIODS, DEFAULT)
    assert revaluation_entries(led) == [(3, 4, D(2020, 1, 31), D(2020, 1, 31), 10.0, 20.0)]
    assert entry_costs(led) == [110.0, -110.0, 130.0, -52.0]


def test_standard_revaluation_sets_the_standard_cost_of_later_increases() -> None:
    """R84: after a per-item revaluation to 12, a purchase enters at 12 (variance +5.00); the
    sale takes 100 + 20 from the first purchase and 2 × 12 from the second."""
    frame = txs((D(2020, 1, 1), "purchase", 10, 11.0, None),
                (D(2020, 1, 31), "revaluation", REVAL, 12.0, None),
                (D(2020, 2, 1), "purchase", 5, 11.0, None),
                (D(2020, 2, 10), "sale", 12, None, None))
    led = cost_ledger(frame, items("STANDARD", 10.0), NO_PERIODS, DEFAULT)
    assert revaluation_entries(led) == [(1, 2, D(2020, 1, 31), D(2020, 1, 31), 10.0, 20.0)]
    assert entry_costs(led) == [120.0, 60.0, -144.0]
    variance = led.value_entries.filter(pl.col("entry_type") == "Variance")
    assert variance["cost_amount_actual"].to_list() == [-10.0, 5.0]


MONTH = Settings(average_cost_period="month")


def _average(*rows, settings=MONTH):
    return cost_ledger(txs(*rows), items("AVERAGE"), NO_PERIODS, settings)


def test_average_revaluation_reaches_the_next_period() -> None:
    """R85: r_P = 6 at u_P = 60.00/6; A = 72.00 − 60.00 enters the pool at 01-31, so the
    February sale of 3 costs 72.00·3/6 (R96), 6.00 more than at posting."""
    led = _average((D(2020, 1, 5), "purchase", 10, 10.0, None),
                   (D(2020, 1, 20), "sale", 4, None, None),
                   (D(2020, 1, 31), "revaluation", REVAL, 12.0, None),
                   (D(2020, 2, 10), "sale", 3, None, None))
    assert revaluation_entries(led) == [(1, 3, D(2020, 1, 31), D(2020, 1, 31), 6.0, 12.0)]
    assert entry_costs(led) == [112.0, -40.0, -36.0]


def test_average_revaluation_reaches_decreases_of_its_period_posted_after_it() -> None:
    """R101: the sale dated 01-25 but posted after R gets the revalued average; R92 moves its
    valuation date to R's."""
    led = _average((D(2020, 1, 5), "purchase", 10, 10.0, None),
                   (D(2020, 1, 20), "sale", 4, None, None),
                   (D(2020, 1, 31), "revaluation", REVAL, 12.0, None),
                   (D(2020, 1, 25), "sale", 3, None, None))
    assert entry_costs(led) == [112.0, -40.0, -36.0]
    assert led.value_entries.filter(pl.col("item_ledger_entry_no") == 3)[
        "valuation_date"].unique().to_list() == [D(2020, 1, 31)]


def test_average_revaluation_per_pool_split_by_revaluable_quantity() -> None:
    """R85 with calc type item_location_variant: BLUE's pool 63.00 for 6 gets 72.00 − 63.00,
    split 4.50/4.50 over its two purchases (R3); RED's pool 40.00 for 2 gets 24.00 − 40.00."""
    blue, red = {"location_code": "BLUE"}, {"location_code": "RED"}
    led = _average((D(2020, 1, 5), "purchase", 3, 10.0, None, blue),
                   (D(2020, 1, 6), "purchase", 3, 11.0, None, blue),
                   (D(2020, 1, 7), "purchase", 2, 20.0, None, red),
                   (D(2020, 1, 31), "revaluation", REVAL, 12.0, None),
                   settings=Settings(average_cost_period="month",
                                     average_cost_calc_type="item_location_variant"))
    assert [(r[0], r[-1]) for r in revaluation_entries(led)] == [(1, 4.5), (2, 4.5), (3, -16.0)]


def test_average_revaluation_with_applies_to_uses_the_entry_own_cost() -> None:
    """R85 with applies_to: R81 on that entry (round(2·25) − 40.00); the pool then holds
    70.00 for 4 units and the February sale of 2 costs 35.00."""
    led = _average((D(2020, 1, 5), "purchase", 2, 10.0, None),
                   (D(2020, 1, 6), "purchase", 2, 20.0, None),
                   (D(2020, 1, 31), "revaluation", REVAL, 25.0, 2),
                   (D(2020, 2, 10), "sale", 2, None, None))
    assert revaluation_entries(led) == [(2, 3, D(2020, 1, 31), D(2020, 1, 31), 2.0, 10.0)]
    assert entry_costs(led) == [20.0, 50.0, -35.0]


def test_revalued_quantity_a_hair_below_a_half_cent_rounds_down_r81_r85() -> None:
    """R81 round(r·u): 49.993 left of 100.001 units worth 266.67 is 133.3149999950, so 133.31,
    and A = round(49.993 x 3.00) - 133.31 = 149.98 - 133.31 = 16.67 (16.66 with round_to's
    nudge, then a Rounding entry of 0.01); per entry (FIFO) and per pool (AVERAGE, R85)."""
    for method, applies in (("FIFO", 1), ("AVERAGE", None)):
        led = cost_ledger(txs((D(2024, 1, 1), "purchase", 100.001, 2.66667, None),
                              (D(2024, 1, 2), "sale", 50.008, None, None),
                              (D(2024, 1, 31), "revaluation", REVAL, 3.0, applies),
                              (D(2024, 2, 2), "sale", 49.993, None, None)),
                          items(method), NO_PERIODS, Settings(average_cost_period="month"))
        assert revaluation_entries(led) == [
            (1, 3, D(2024, 1, 31), D(2024, 1, 31), 49.993, 16.67)], method
        assert entry_costs(led) == [283.34, -133.36, -149.98], method
        assert led.value_entries.filter(pl.col("entry_type") == "Rounding").height == 0


def test_r85_reads_only_the_entries_posted_before_its_item_s_last_per_pool_revaluation(
        monkeypatch) -> None:
    """R85 counts value entries created before R and dated on or before its date, and an
    entry's valuation date is never before its posting date: so the stage reads (and watches,
    round after round) only the entries posted before the item's last per-pool revaluation,
    by transaction and by date. Here the purchase dated 02-10 (after R's date), the sale
    posted after R, and the charge posted after R are left out, but the January sale is read at
    its adjusted cost, charge included: -round(4 x 105.00/10) = -42.00, so the pool holds 58.00
    for 6 and the amount is round(6 x 12) - 58.00 = 14.00 (as in the reference)."""
    from pipelines.costing import average_revaluation

    read = []
    contributions = average_revaluation.pool_contributions
    monkeypatch.setattr(average_revaluation, "pool_contributions",
                        lambda *args: read.append(contributions(*args)) or read[-1])
    led = _average((D(2020, 1, 5), "purchase", 10, 10.0, None),
                   (D(2020, 2, 10), "purchase", 5, 11.0, None),
                   (D(2020, 1, 20), "sale", 4, None, None),
                   (D(2020, 1, 31), "revaluation", REVAL, 12.0, None),
                   (D(2020, 1, 25), "sale", 3, None, None),
                   (D(2020, 2, 15), "item_charge", None, None, 1,
                    {"amount": 5.0, "item_charge_no": "FRT"}))
    assert [r.sort("entry_no", "kind").select("entry_no", "kind", "tx").rows() for r in read] == [
        [(1, "entry", 1), (1, "value", 1), (3, "entry", 3)]]
    assert revaluation_entries(led) == [(1, 4, D(2020, 1, 31), D(2020, 1, 31), 6.0, 14.0)]
    assert entry_costs(led) == [119.0, 55.0, -42.0, -38.5]  # (119.00 - 42.00) x 3/6 (R101)
