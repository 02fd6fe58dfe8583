"""R45 on-hand returns: the split of the automatic streams (pipelines.costing.returns)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.costing.returns import split_on_hand_returns
from pipelines.settings import Settings
from tests.reference import new_book, post_transaction
from tests.strategies import START, History, _blank_row, _history, _next_date
from tests.test_differential_average import _compare
from tests.test_pass_overs import _item


def streams(*rows: tuple) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows (entry_no, kind, units) of key 0: kind 'in', 'return' (with applies_to) or 'out'."""
    deltas = [-u if k == "out" else u for _, k, u in rows]
    before = list(itertools.accumulate(deltas, initial=0))[:-1]  # the key's balance before each
    balance = dict(zip([n for n, _, _ in rows], before, strict=True))
    ins = [{"key_id": 0, "entry_no": n, "cap": u,
            "type": "sales_return" if k == "return" else "purchase", "receiving": k == "return",
            "before": balance[n]}
           for n, k, u in rows if k != "out"]
    outs = [{"key_id": 0, "entry_no": n, "units": u} for n, k, u in rows if k == "out"]
    return (pl.DataFrame(ins, schema={"key_id": pl.Int64, "entry_no": pl.Int64, "cap": pl.Int64,
                                      "type": pl.String, "receiving": pl.Boolean,
                                      "before": pl.Int64}),
            pl.DataFrame(outs, schema={"key_id": pl.Int64, "entry_no": pl.Int64,
                                       "units": pl.Int64}))


def split(*rows):
    returns, regular, out = split_on_hand_returns(*streams(*rows))
    return (returns["entry_no"].to_list(), regular["entry_no"].to_list(),
            out.select("entry_no", "units", "matched").rows())


def test_known_issue_sale_and_its_return_both_stay_open() -> None:
    """R45: a sale of 5 into negative inventory and its return: nothing is applied."""
    assert split((1, "out", 5), (2, "return", 5)) == ([2], [], [(1, 5, 0)])


def test_later_sale_takes_the_on_hand_return_first() -> None:
    """The return's units are on hand: the next sale takes 2 of them; the purchase then closes
    the first sale (its 5 units passed on to the regular stream)."""
    assert split((1, "out", 5), (2, "return", 5), (3, "out", 2), (4, "in", 10)) == (
        [2], [4], [(1, 5, 0), (3, 0, 2)])


def test_demand_beyond_the_returns_goes_negative_again() -> None:
    """A purchase of 3 and a sale of 5 leave 2 open; the return of 4 is on hand; a sale of 6
    takes those 4 and leaves 2 more open for later inbounds."""
    assert split((1, "in", 3), (2, "out", 5), (3, "return", 4), (4, "out", 6)) == (
        [3], [1], [(2, 5, 0), (4, 2, 4)])


def test_a_return_with_stock_on_hand_is_an_ordinary_inbound() -> None:
    assert split((1, "in", 3), (2, "out", 1), (3, "return", 1), (4, "out", 3)) == (
        [], [1, 3], [(2, 1, 0), (4, 3, 0)])


def test_a_return_after_the_deficit_was_served_by_an_earlier_return_is_ordinary() -> None:
    """The first return is on hand; the second comes when phase 2 is still negative (the sale's
    5 units wait for inbounds), so it is on hand too, behind the first."""
    assert split((1, "out", 5), (2, "return", 2), (3, "return", 3), (4, "out", 4)) == (
        [2, 3], [], [(1, 5, 0), (4, 0, 4)])


def test_bc_known_issue_end_to_end() -> None:
    """R45, BC's known item application issue: a sale of 5 with nothing on hand, then its return
    with applies_to: both stay open at a net quantity of zero; the return gets the sale's cost
    back (R74) and the next purchase closes the sale (R44), not the return."""
    from pipelines.costing import cost_ledger
    from tests.test_costing import DEFAULT, NO_PERIODS, D, items, txs

    led = cost_ledger(txs((D(2020, 1, 1), "sale", 5, None, None),
                          (D(2020, 1, 2), "sales_return", 5, None, 1),
                          (D(2020, 1, 3), "purchase", 5, 10.0, None),
                          (D(2020, 1, 4), "sale", 2, None, None)),
                      items(), NO_PERIODS, DEFAULT)
    ile = led.item_ledger_entries
    assert ile.select("entry_no", "remaining_quantity", "cost_amount_actual").rows() == [
        (1, 0.0, -50.0), (2, 3.0, 50.0), (3, 0.0, 50.0), (4, 0.0, -20.0)]
    apps = led.item_application_entries.filter(~pl.col("cost_application")
                                               & pl.col("outbound_item_entry_no").is_not_null())
    assert sorted(apps.select("outbound_item_entry_no", "inbound_item_entry_no",
                              "quantity").rows()) == [(1, 3, -5.0), (4, 2, -2.0)]


def test_a_fixed_application_to_the_second_return_on_hand() -> None:
    """R45 with R43: sale 4 is open when both returns come in, so both go on hand, though the
    first one's units make the balance positive before the second. Sale 7 takes the first
    return's 3 units (the oldest on hand), and sale 8 is fixed-applied to the second one's 2:
    valid, each sale gets the cost of the sale its return reverses (R74), 10.00 a unit."""
    from tests.test_cost_loops import _both
    from tests.test_differential import assert_same_ledger
    from tests.test_reference import D, tx

    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 5, 10), tx(2, D(2020, 1, 2), "sale", 3),
                      tx(3, D(2020, 1, 3), "sale", 2), tx(4, D(2020, 1, 4), "sale", 1),
                      tx(5, D(2020, 1, 5), "sales_return", 3, applies=2),
                      tx(6, D(2020, 1, 6), "sales_return", 2, applies=3),
                      tx(7, D(2020, 1, 7), "sale", 3), tx(8, D(2020, 1, 8), "sale", 2, applies=6))
    ile = got.item_ledger_entries.sort("entry_no")
    assert ile.select("remaining_quantity", "cost_amount_actual").rows() == [
        (0, 50.0), (0, -30.0), (0, -20.0), (-1, -10.0), (0, 30.0), (0, 20.0), (0, -30.0),
        (0, -20.0)]
    assert_same_ledger(got, want)


@st.composite
def on_hand_return_histories(draw, method: str) -> History:
    """One key: purchases, sales into negative inventory, returns (applies_to) of sales open or
    closed, so that several returns are on hand beside open sales at once (R45), and sales
    fixed-applied (R43) to an inbound with enough remaining, most of them to a return. Each row
    valid in the reference's state."""
    items = [_item(method)]
    book = new_book(items, Settings(), [])
    rows: list[dict] = []
    date = START
    for tx_no in range(1, draw(st.integers(4, 24)) + 1):
        date = _next_date(draw, date, True)
        kind = draw(st.sampled_from(["purchase", "sale", "sale", "sales_return", "fixed"]))
        row = _blank_row(tx_no, date, "sale" if kind == "fixed" else kind) | {
            "item_no": "ITEM1", "quantity": float(draw(st.integers(1, 6)))}
        if kind == "purchase":
            row["unit_cost"] = float(draw(st.integers(1, 40)))
        elif kind == "sales_return":
            sales = [(e, -e.quantity - sum((r.quantity for r in book.returns_of(e)), Fraction(0)))
                     for e in book.entries if e.tx_type == "sale"]
            sales = [(e, left) for e, left in sales if left > 0]
            if not sales:
                continue
            # mostly of a sale already closed: its return makes the balance positive while
            # later sales are still open, and the returns after it go on hand as well
            closed = [(e, left) for e, left in sales if e.remaining_quantity == 0]
            sale, left = draw(st.sampled_from(closed if closed and draw(st.booleans())
                                              else sales))
            row.update(quantity=float(min(Fraction(row["quantity"]), left)),
                       applies_to=sale.transaction_no)
        elif kind == "fixed":
            valid = [e for e in book.entries
                     if e.inbound and e.remaining_quantity >= Fraction(row["quantity"])]
            if not valid:
                continue
            returns = [e for e in valid if e.tx_type == "sales_return"]
            row["applies_to"] = draw(st.sampled_from(returns or valid)).transaction_no
        post_transaction(book, row)
        rows.append(row)
    return _history(rows, items, Settings(), [])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["FIFO", "LIFO", "AVERAGE"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fixed_applications_beside_returns_on_hand_match_the_reference(method: str,
                                                                      data) -> None:
    """R43 with R45: whether a fixed application finds its units is read from the order the
    returns on hand are taken in, not from the balance (it is positive while sales are still
    open once a return is on hand); every history compared entry by entry, none refused (but
    an AVERAGE pool feeding its own cost back that the stage leaves unsettled, R170.15)."""
    _compare(data.draw(on_hand_return_histories(method)), refusals=())
