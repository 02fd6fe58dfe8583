"""Inventory valuation by posting date: R130-R132, and the monthly Inventory Valuation report."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines.valuation import KEYS, inventory_valuation, inventory_valuation_by_period
from schemas.base import validate
from schemas.gl import InventoryValuation, InventoryValuationPeriod
from tests.gl_helpers import D, ile, item_ledger_entries, value_entries, ve

# Receipt of 10 on Jan 1 (expected 100), invoiced Feb 5 at 110, sale of 4 on Feb 10 at -40,
# its cost adjustment -4 dated Mar 31; a second item at WEST bought and wholly sold in January with
# an adjustment dated in February (quantity 0 with a value, R130).
ILES = item_ledger_entries(
    ile(1, "Purchase", 10, D(2020, 1, 1)),
    ile(2, "Sale", -4, D(2020, 2, 10)),
    ile(3, "Purchase", 5, D(2020, 1, 3), item_no="ITEM2", location_code="WEST"),
    ile(4, "Sale", -5, D(2020, 1, 20), item_no="ITEM2", location_code="WEST"),
)
VES = value_entries(
    ve(1, "Purchase", 0.0, 100.0, posting_date=D(2020, 1, 1), quantity=10),
    ve(2, "Purchase", 110.0, -100.0, ile_no=1, posting_date=D(2020, 2, 5)),
    ve(3, "Sale", -40.0, ile_no=2, posting_date=D(2020, 2, 10), quantity=-4),
    ve(4, "Purchase", 25.0, ile_no=3, item_no="ITEM2", location_code="WEST",
       posting_date=D(2020, 1, 3), quantity=5),
    ve(5, "Sale", -20.0, ile_no=4, item_no="ITEM2", location_code="WEST",
       posting_date=D(2020, 1, 20), quantity=-5),
    ve(6, "Sale", -5.0, ile_no=4, item_no="ITEM2", location_code="WEST", transaction_no=None,
       posting_date=D(2020, 2, 29), adjustment=True),
    ve(7, "Sale", -4.0, ile_no=2, transaction_no=None, posting_date=D(2020, 3, 31),
       adjustment=True),
)


def valuation(rows):
    return pl.DataFrame(
        rows, orient="row",
        schema=["item_no", "location_code", "variant_code", "inventory_posting_group", "quantity",
                "cost_amount_actual", "cost_amount_expected"],
    )


def test_default_date_is_the_latest_value_entry_r131():
    got = inventory_valuation(ILES, VES, None)
    assert_frame_equal(got, valuation([("ITEM1", "", "", "RESALE", 6.0, 66.0, 0.0)]))
    validate(got, InventoryValuation)


def test_as_of_excludes_the_later_dated_adjustment_r130():
    got = inventory_valuation(ILES, VES, D(2020, 3, 30))
    assert_frame_equal(got, valuation([("ITEM1", "", "", "RESALE", 6.0, 70.0, 0.0)]))


def test_quantity_zero_with_a_value_when_the_adjustment_follows_the_goods_r130():
    got = inventory_valuation(ILES, VES, D(2020, 1, 31))
    assert_frame_equal(got, valuation([
        ("ITEM1", "", "", "RESALE", 10.0, 0.0, 100.0),
        ("ITEM2", "WEST", "", "RESALE", 0.0, 5.0, 0.0),
    ]))
    # once the adjustment is in, ITEM2 is all zero and left out
    assert inventory_valuation(ILES, VES, D(2020, 2, 29))["item_no"].to_list() == ["ITEM1"]


def test_as_of_between_receipt_and_invoice_shows_expected_cost_only():
    """E19's second run: valued at its expected cost between receipt and invoice."""
    got = inventory_valuation(ILES, VES, D(2020, 1, 10))
    assert_frame_equal(got, valuation([
        ("ITEM1", "", "", "RESALE", 10.0, 0.0, 100.0),
        ("ITEM2", "WEST", "", "RESALE", 5.0, 25.0, 0.0),
    ]))


def test_before_anything_is_empty_and_empty_input_is_empty():
    assert inventory_valuation(ILES, VES, D(2019, 12, 31)).height == 0
    empty = inventory_valuation(ILES.clear(), VES.clear(), None)
    assert empty.height == 0
    validate(empty, InventoryValuation)


def test_posting_group_comes_from_the_value_entries():
    vs = VES.with_columns(
        inventory_posting_group=pl.when(pl.col("item_no") == "ITEM1").then(pl.lit("FINISHED"))
        .otherwise("inventory_posting_group")
    )
    got = inventory_valuation(ILES, vs, D(2020, 3, 30))
    assert got.select("item_no", "inventory_posting_group", "quantity").rows() == [
        ("ITEM1", "FINISHED", 6.0)]


def _valuation_row_by_row(iles: pl.DataFrame, ves: pl.DataFrame, as_of) -> set[tuple]:
    """R130 as written, entry by entry: an item ledger entry's key takes the posting group of its
    first value entry (R20), its quantity counts when it is posted by `as_of`, a value entry's
    amounts when it is."""
    group = {}
    for v in sorted(ves.iter_rows(named=True), key=lambda v: v["entry_no"]):
        group.setdefault(v["item_ledger_entry_no"], v["inventory_posting_group"])
    key_of, totals = {}, defaultdict(lambda: [0.0, 0.0, 0.0])
    for e in iles.iter_rows(named=True):
        key_of[e["entry_no"]] = key = (e["item_no"], e["location_code"], e["variant_code"],
                                       group.get(e["entry_no"], ""))
        totals[key][0] += e["quantity"] if e["posting_date"] <= as_of else 0.0
    for v in ves.iter_rows(named=True):
        if v["posting_date"] <= as_of:
            totals[key_of[v["item_ledger_entry_no"]]][1] += v["cost_amount_actual"]
            totals[key_of[v["item_ledger_entry_no"]]][2] += v["cost_amount_expected"]
    return {(*k, round(q, 9), round(a, 2), round(x, 2)) for k, (q, a, x) in totals.items()
            if abs(q) > 1e-9 or abs(a) >= 0.005 or abs(x) >= 0.005}


def _histories(days: int) -> dict:
    """Random entries (item, location, signed quantity, day) and value entries (entry, actual
    and expected cents, day, posting group) over `days` days, and an as-of day."""
    return {
        "entries": st.lists(st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(["", "WEST"]),
                                      st.integers(-5, 5), st.integers(1, days)),
                            min_size=1, max_size=8),
        "values": st.lists(st.tuples(st.integers(0, 20), st.integers(-5000, 5000),
                                     st.integers(-500, 500), st.integers(1, days),
                                     st.sampled_from(["RESALE", "FINISHED"])), max_size=20),
        "as_of": st.integers(1, days),
    }


def _day(n: int) -> dt.date:
    return D(2020, 1, 1) + dt.timedelta(days=n - 1)


def _ledger(entries: list, values: list) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The item ledger entries and value entries of a `_histories` draw: value entries numbered
    against entry order, each on an entry of its own item and location."""
    iles = item_ledger_entries(*[
        ile(i + 1, "Purchase" if q > 0 else "Sale", float(q), _day(d), item_no=item,
            location_code=loc)
        for i, (item, loc, q, d) in enumerate(entries)])
    n = len(entries)
    ves = value_entries(*[
        ve(20 - i, "Purchase", a / 100, x / 100, ile_no=ile_no % n + 1,
           item_no=entries[ile_no % n][0], location_code=entries[ile_no % n][1],
           posting_date=_day(d), inventory_posting_group=group)
        for i, (ile_no, a, x, d, group) in enumerate(values)])
    return iles, ves


@given(**_histories(9))
def test_valuation_is_r130_entry_by_entry(entries, values, as_of):
    """Against the row-by-row statement: value entries out of entry order, entries without value
    entries (group ""), dates on both sides of `as_of`, a key across several entries."""
    iles, ves = _ledger(entries, values)
    got = inventory_valuation(iles, ves, _day(as_of))
    assert set(got.rows()) == _valuation_row_by_row(iles, ves, _day(as_of))
    assert got.height == len(set(got.rows()))
    # in entry order, as the costing stage writes them (the first value entry found without a sort)
    assert_frame_equal(inventory_valuation(iles, ves.sort("entry_no"), _day(as_of)), got)


def _report_row_by_row(iles: pl.DataFrame, ves: pl.DataFrame, as_of) -> set[tuple]:
    """The monthly report as written, month by month per key: a value entry on its item ledger
    entry's key (posting group of the entry's first value entry, R20), increases from inbound
    entries, decreases (magnitudes) from outbound ones, each key from its first month with a
    move up to `as_of`, all-zero rows left out."""
    group = {}
    for v in sorted(ves.iter_rows(named=True), key=lambda v: v["entry_no"]):
        group.setdefault(v["item_ledger_entry_no"], v["inventory_posting_group"])
    entry = {e["entry_no"]: e for e in iles.iter_rows(named=True)}
    key = {no: (e["item_no"], e["location_code"], e["variant_code"], group.get(no, ""))
           for no, e in entry.items()}
    moves = defaultdict(lambda: [0.0] * 6)  # (key, month): in/out of quantity, value, expected
    for e in entry.values():
        if e["posting_date"] <= as_of:
            side = 0 if e["quantity"] > 0 else 1
            moves[key[e["entry_no"]], e["posting_date"].month][side] += e["quantity"]
    for v in ves.iter_rows(named=True):
        if v["posting_date"] <= as_of:
            side = 0 if entry[v["item_ledger_entry_no"]]["quantity"] > 0 else 1
            cell = moves[key[v["item_ledger_entry_no"]], v["posting_date"].month]
            cell[2 + side] += v["cost_amount_actual"]
            cell[4 + side] += v["cost_amount_expected"]
    rows = set()
    for k in {k for k, _ in moves}:
        closing = [0.0, 0.0, 0.0]
        for month in range(min(m for kk, m in moves if kk == k), as_of.month + 1):
            cell = moves.get((k, month), [0.0] * 6)
            figures = []
            for i, digits in ((0, 9), (1, 2), (2, 2)):
                increases, decreases = cell[2 * i], -cell[2 * i + 1]
                opening, closing[i] = closing[i], closing[i] + increases - decreases
                figures += [round(x, digits) for x in (opening, increases, decreases, closing[i])]
            if any(abs(x) > 1e-9 for x in figures[:4]) or any(abs(x) >= 0.005
                                                                for x in figures[4:]):
                end = min(D(2020, month + 1, 1) - dt.timedelta(days=1), as_of)
                rows.add((end, *k, *figures))
    return rows


@given(**_histories(90))
def test_monthly_report_is_the_report_month_by_month(entries, values, as_of):
    """Against the row-by-row statement over three months: moves in months before a key's
    first, value entries dated before or after their entry, keys that close at zero and move
    again, dates after `as_of`."""
    iles, ves = _ledger(entries, values)
    got = inventory_valuation_by_period(iles, ves, _day(as_of))
    figures = [f"{s}_{m}" for m in ("quantity", "value", "expected_cost")
               for s in ("opening", "increases", "decreases", "closing")]
    rows = got.select("period_end", *KEYS, *figures).rows()
    assert set(rows) == _report_row_by_row(iles, ves, _day(as_of))
    assert len(rows) == len(set(rows))
    assert got.select(*KEYS, "period_start").rows() == sorted(
        got.select(*KEYS, "period_start").rows())
    assert_frame_equal(inventory_valuation_by_period(iles, ves.sort("entry_no"), _day(as_of)),
                       got)


def test_default_valuation_totals_equal_the_ledger_sums_r157():
    got = inventory_valuation(ILES, VES, None)
    assert got["quantity"].sum() == ILES["quantity"].sum() == 6.0
    assert got["cost_amount_actual"].sum() == VES["cost_amount_actual"].sum() == 66.0
    assert got["cost_amount_expected"].sum() == VES["cost_amount_expected"].sum() == 0.0


def test_by_period_report():
    got = inventory_valuation_by_period(ILES, VES)
    cols = ["period_end", "item_no", "opening_quantity", "opening_value", "increases_quantity",
            "increases_value", "decreases_quantity", "decreases_value", "closing_quantity",
            "closing_value", "opening_expected_cost", "increases_expected_cost",
            "decreases_expected_cost", "closing_expected_cost"]
    want = pl.DataFrame(
        [
            # the receipt comes in at its expected cost; the invoice turns it into actual cost
            (D(2020, 1, 31), "ITEM1", 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 10.0, 0.0,
             0.0, 100.0, 0.0, 100.0),
            (D(2020, 2, 29), "ITEM1", 10.0, 0.0, 0.0, 110.0, 4.0, 40.0, 6.0, 70.0,
             100.0, -100.0, 0.0, 0.0),
            (D(2020, 3, 31), "ITEM1", 6.0, 70.0, 0.0, 0.0, 0.0, 4.0, 6.0, 66.0,
             0.0, 0.0, 0.0, 0.0),
            (D(2020, 1, 31), "ITEM2", 0.0, 0.0, 5.0, 25.0, 5.0, 20.0, 0.0, 5.0,
             0.0, 0.0, 0.0, 0.0),
            (D(2020, 2, 29), "ITEM2", 0.0, 5.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0,
             0.0, 0.0, 0.0, 0.0),
        ],
        orient="row", schema=cols,
    )
    assert_frame_equal(got.select(cols), want)
    assert got["period_start"].to_list()[:3] == [D(2020, 1, 1), D(2020, 2, 1), D(2020, 3, 1)]
    validate(got, InventoryValuationPeriod)
    # no -0.0 anywhere (a decrease of nothing is 0.0, not -0.0)
    for c in cols[2:]:
        assert not any(str(x) == "-0.0" for x in got[c].to_list()), c


def test_by_period_shipment_expected_cost_is_a_decrease_and_the_last_month_ends_as_of():
    """A shipment's expected cost leaves as a decrease; invoiced, it turns into actual cost."""
    iles = item_ledger_entries(ile(1, "Purchase", 10, D(2020, 1, 2)),
                               ile(2, "Sale", -3, D(2020, 1, 20)))
    ves = value_entries(
        ve(1, "Purchase", 100.0, posting_date=D(2020, 1, 2), quantity=10),
        ve(2, "Sale", 0.0, -30.0, ile_no=2, posting_date=D(2020, 1, 20), quantity=-3),
        ve(3, "Sale", -30.0, 30.0, ile_no=2, posting_date=D(2020, 2, 3)),
    )
    got = inventory_valuation_by_period(iles, ves, D(2020, 2, 10))
    assert got.select(
        "period_end", "decreases_quantity", "decreases_value", "decreases_expected_cost",
        "closing_value", "closing_expected_cost",
    ).rows() == [(D(2020, 1, 31), 3.0, 0.0, 30.0, 100.0, -30.0),
                 (D(2020, 2, 10), 0.0, 30.0, -30.0, 70.0, 0.0)]
    with_expected = got.select(pl.col("closing_value") + pl.col("closing_expected_cost"))
    assert with_expected.to_series().to_list() == [70.0, 70.0]


def test_by_period_closing_matches_the_valuation_as_of_the_month_end():
    report = inventory_valuation_by_period(ILES, VES, D(2020, 2, 29))
    last = report.filter(pl.col("period_end") == D(2020, 2, 29))
    as_of = inventory_valuation(ILES, VES, D(2020, 2, 29))
    # ITEM2 closes at zero after moving in February: a report row, no valuation row
    assert last.select("item_no", "closing_quantity", "closing_value").rows() == [
        ("ITEM1", 6.0, 70.0), ("ITEM2", 0.0, 0.0)]
    assert as_of.select("item_no", "quantity", "cost_amount_actual").rows() == [
        ("ITEM1", 6.0, 70.0)]
    assert report["period_end"].max() == D(2020, 2, 29)
