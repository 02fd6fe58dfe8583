"""R44a against the row-by-row reference on histories built to make cost loops: sales into
negative inventory, their returns (with applies_to) at another location, and transfers bringing
the returned units back to the key of the open sales, where the to-leg passes over the sales its
cost depends on and closes the others (FIFO: oldest first; LIFO: latest first, `lifo_passes.py`).
Every history must match; refused only where `refusals_for` allows it: with back-dated entries,
whose keys are taken by posting date and where a passing to-leg still closes nothing."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipelines.settings import Settings
from tests.known_disagreements import _back_dated
from tests.reference import new_book, post_transaction
from tests.strategies import (
    START,
    History,
    _blank_row,
    _fixed_inbound,
    _history,
    _next_date,
    quantities,
)
from tests.test_differential import _compare_wide

LOCATIONS = ["", "BLUE", "RED"]
# sales mostly at "", returns mostly elsewhere, transfers mostly back to ""
KINDS = ["purchase", "sale", "sale", "sale", "sales_return", "sales_return", "transfer",
         "transfer", "transfer"]


def _item(method: str) -> dict:
    return {"item_no": "ITEM1", "description": None, "costing_method": method,
            "standard_cost": None, "indirect_cost_pct": 0.0, "overhead_rate": 0.0,
            "inventory_posting_group": "RESALE", "gen_prod_posting_group": "RETAIL"}


def _mostly(draw, first: str, others: list[str]) -> str:
    return first if draw(st.integers(0, 3)) else draw(st.sampled_from(others))


@st.composite
def loop_histories(draw, method: str, fixed: bool = False, back_dated: str = "no",
                   max_transactions: int = 30) -> History:
    """Rows of KINDS on one item at three locations, each valid in the reference's state: a
    return takes at most what its sale has left, a transfer at most its location's stock; with
    `fixed`, one sale in three applied to an inbound with enough remaining (R43); with
    `back_dated` "all", dates now and then before the last one (R41, R44 by posting date);
    "receipts", one purchase in three dated before the rows posted before it."""
    items = [_item(method)]
    cfg = Settings()
    book = new_book(items, cfg, [])
    rows: list[dict] = []
    date = START
    for tx_no in range(1, draw(st.integers(4, max_transactions)) + 1):
        date = _next_date(draw, date, back_dated != "all")
        row = _blank_row(tx_no, date, draw(st.sampled_from(KINDS))) | {
            "item_no": "ITEM1", "quantity": draw(quantities)}
        kind = row["type"]
        if kind == "purchase":
            row.update(location_code=draw(st.sampled_from(LOCATIONS)),
                       unit_cost=float(draw(st.integers(1, 40))))
            if back_dated == "receipts" and draw(st.integers(0, 2)) == 0:
                row["posting_date"] = date - dt.timedelta(days=draw(st.integers(1, 30)))
        elif kind == "sale":
            row["location_code"] = _mostly(draw, "", LOCATIONS)
            if fixed and draw(st.integers(0, 2)) == 0:
                row["applies_to"] = _fixed_inbound(draw, book, row)
        elif kind == "sales_return":
            sales = [e for e in book.entries if e.tx_type == "sale"
                     and -e.quantity > sum(r.quantity for r in book.returns_of(e))]
            if not sales:
                continue
            sale = draw(st.sampled_from(sales))
            left = -sale.quantity - sum((r.quantity for r in book.returns_of(sale)), Fraction(0))
            row.update(location_code=_mostly(draw, "BLUE", LOCATIONS),
                       quantity=float(min(Fraction(row["quantity"]), left)),
                       applies_to=sale.transaction_no)
        else:  # transfer: R46, from a location with stock
            stock: dict[str, Fraction] = {}
            for e in book.entries:
                if e.inbound and e.remaining_quantity > 0:
                    stock[e.location_code] = stock.get(e.location_code, 0) + e.remaining_quantity
            if not stock:
                continue
            source = draw(st.sampled_from(sorted(stock)))
            target = "" if source != "" and draw(st.integers(0, 3)) else draw(
                st.sampled_from([loc for loc in LOCATIONS if loc != source]))
            row.update(location_code=source, to_location_code=target,
                       quantity=float(min(Fraction(row["quantity"]), stock[source])))
        post_transaction(book, row)
        rows.append(row)
    return _history(rows, items, cfg, [])


@pytest.mark.slow
@pytest.mark.parametrize(("fixed", "back_dated"), [
    (False, "no"), (True, "no"), (False, "all"), (True, "all"), (False, "receipts")],
    ids=["automatic", "with_fixed", "back_dated", "back_dated_with_fixed",
         "back_dated_receipts"])
@pytest.mark.parametrize("method", ["FIFO", "LIFO"])
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_pass_overs_match_the_reference(method: str, fixed: bool, back_dated: str,
                                        data) -> None:
    """R44, R44a, R45, R73, R74 (with `fixed`, R43 too): every history compared entry by entry;
    in order or with back-dated receipts only, nothing refused (but on LIFO keys, whose
    back-dated receipts are taken by posting date); with back-dated outbounds, refused only by
    name (R44a, `refusals_for`)."""
    h = data.draw(loop_histories(method, fixed, back_dated))
    book = _compare_wide(h, refusals=())
    if book is None:
        return
    passed = {i for i, _ in book.passed_over}
    closing = [a for a in book.applications if not a.cost_application
               and a.inbound_item_entry_no in passed
               and a.outbound_item_entry_no < a.inbound_item_entry_no]
    event("a to-leg passed over an open outbound (R44a)" if passed else "no pass-over")
    if closing:
        event("a passing to-leg closed another outbound")
    keys = {book.entry(i).key for i in passed}
    if any(_back_dated([e.posting_date for e in book.entries if e.key == key and e.inbound])
           for key in keys):
        event("a pass-over on a key with back-dated inbounds")
