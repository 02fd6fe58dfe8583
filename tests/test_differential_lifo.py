"""LIFO items (R42, R44) in the vectorized costing stage against the row-by-row reference.

Histories are the wide mix of `tests.strategies` (every type the stage costs, fixed applications,
transfers, returns, charges, negative inventory) drawn on mostly LIFO items, now and then a FIFO,
STANDARD or SPECIFIC item beside them: each row is posted into the reference's book as it is
drawn, with the LIFO order, so every fixed application (R43) is valid in LIFO's own state.
Compared entry by entry with `assert_same_ledger`; histories hitting a pinned disagreement
(`tests.known_disagreements`) are counted, not compared.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.reference import new_book, post_transaction
from tests.reference.book import RECEIVING
from tests.strategies import (
    START,
    TYPES,
    VARIANTS,
    WIDE_LOCATIONS,
    History,
    _fixed_inbound,
    _history,
    _next_date,
    _periods,
    _wide_row,
    quantities,
    unit_costs,
    wide_items_strategy,
)
from tests.test_differential import _compare_wide

EXAMPLES = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def lifo_histories(draw, *, monotone_dates: bool = True, returns_into_open_keys: bool = False,
                   max_transactions: int = 40) -> History:
    """The wide mix (see `tests.strategies._wide_row`) with the first item LIFO and each other
    LIFO half the time (else FIFO, STANDARD or SPECIFIC)."""
    items = draw(wide_items_strategy(draw(st.integers(1, 3))))
    for k, item in enumerate(items):
        if k == 0 or draw(st.booleans()):
            item.update(costing_method="LIFO", standard_cost=None)
    locations = draw(st.sampled_from([WIDE_LOCATIONS[:2], WIDE_LOCATIONS]))
    variants = draw(st.sampled_from([VARIANTS[:1], VARIANTS]))
    cfg, period_rows = draw(_periods(True))
    book = new_book(items, cfg, period_rows)
    rows: list[dict] = []
    date = START
    for tx_no in range(1, draw(st.integers(1, max_transactions)) + 1):
        date = _next_date(draw, date, monotone_dates)
        row = _wide_row(draw, book, items, locations, variants, tx_no, date,
                        returns_into_open_keys)
        if row is None:
            continue
        post_transaction(book, row)
        rows.append(row)
    return _history(rows, items, cfg, period_rows)


@st.composite
def narrow_lifo_histories(draw, max_transactions: int = 60) -> History:
    """One LIFO item at one or two keys: purchases, sales and adjustments only, one decrease in
    five fixed-applied (R43) to an inbound with enough remaining quantity in LIFO's state, so the
    stacks grow deep, run negative (R44) and are cut by fixed applications."""
    items = [{"item_no": "ITEM1", "description": None, "costing_method": "LIFO",
              "standard_cost": None, "indirect_cost_pct": 0.0, "overhead_rate": 0.0,
              "inventory_posting_group": "RESALE", "gen_prod_posting_group": "RETAIL"}]
    locations = draw(st.sampled_from([("",), ("", "BLUE")]))
    cfg, period_rows = draw(_periods(False))
    book = new_book(items, cfg, period_rows)
    rows: list[dict] = []
    date = START
    for tx_no in range(1, draw(st.integers(1, max_transactions)) + 1):
        date = _next_date(draw, date, True)
        kind = draw(st.sampled_from(TYPES))
        row = {"transaction_no": tx_no, "posting_date": date, "type": kind, "item_no": "ITEM1",
               "location_code": draw(st.sampled_from(locations)), "to_location_code": None,
               "variant_code": "", "quantity": draw(quantities), "unit_cost": None,
               "amount": None, "sales_amount": None, "applies_to": None, "item_charge_no": None,
               "document_no": f"D{tx_no:04d}", "gen_bus_posting_group": "DOMESTIC"}
        if kind in ("purchase", "positive_adjustment"):
            row["unit_cost"] = draw(unit_costs)
        elif draw(st.integers(0, 4)) == 0:
            row["applies_to"] = _fixed_inbound(draw, book, row)
        post_transaction(book, row)
        rows.append(row)
    return _history(rows, items, cfg, period_rows)


def _compare(h: History, *, refusals: tuple[str, ...]) -> None:
    """The wide comparison (test_differential), then what the LIFO stack did, as events."""
    book = _compare_wide(h, refusals=refusals)
    if book is None:
        return
    lifo = {e.entry_no for e in book.entries if book.method(e.item_no) == "LIFO"}
    split = {a.outbound_item_entry_no for a in book.applications
             if not a.cost_application and a.outbound_item_entry_no in lifo}
    closed_later = [a for a in book.applications if not a.cost_application
                    and a.outbound_item_entry_no in lifo
                    and a.inbound_item_entry_no > a.outbound_item_entry_no]
    size = "none" if not split else "1-3" if len(split) <= 3 else "4+"
    event(f"LIFO: {size} outbounds applied, "
          f"{'some' if closed_later else 'none'} closed by a later inbound")
    if _lifo_return_into_open_key(book):
        event("LIFO: a return with applies_to posted while its key had open outbounds (R45)")
    if any(i in lifo for i, _ in book.passed_over):
        event("LIFO: a to-leg passed over an open outbound (R44a)")


def _lifo_return_into_open_key(book) -> bool:
    """A LIFO return with applies_to posted while its key's net quantity was below 0."""
    net: dict[tuple, Fraction] = {}
    for e in sorted(book.entries, key=lambda e: e.entry_no):
        if (book.method(e.item_no) == "LIFO" and e.role == RECEIVING
                and e.tx_type == "sales_return" and net.get(e.key, 0) < 0):
            return True
        net[e.key] = net.get(e.key, 0) + e.quantity
    return False


@pytest.mark.slow
@EXAMPLES
@given(lifo_histories(monotone_dates=True))
def test_lifo_date_ordered_histories_match_the_reference(h: History) -> None:
    """R42/R44 with dates in posting order: every history compared, no refusal."""
    _compare(h, refusals=())


@pytest.mark.slow
@settings(EXAMPLES, max_examples=60)
@given(lifo_histories(monotone_dates=False))
def test_lifo_back_dated_histories_match_or_are_refused(h: History) -> None:
    """Back-dated entries are taken by posting date (R42, R44), fixed applications checked in
    that order (R43); refused only by name where the reference passes over an outbound
    (R44a); the rest match."""
    _compare(h, refusals=())


@pytest.mark.slow
@settings(EXAMPLES, max_examples=60)
@given(lifo_histories(monotone_dates=True, returns_into_open_keys=True))
def test_lifo_returns_into_keys_with_open_outbounds_match(h: History) -> None:
    """R45 on LIFO keys: a return with applies_to on a key with open outbounds closes nothing and
    is on hand beside them (both stacks non-empty); every history must match (refused only by
    name where the reference passes over an outbound, R44a)."""
    _compare(h, refusals=())


@pytest.mark.slow
@settings(EXAMPLES, max_examples=60)
@given(lifo_histories(monotone_dates=False, returns_into_open_keys=True))
def test_lifo_returns_on_hand_with_back_dating_match(h: History) -> None:
    """Both at once: returns on hand beside open outbounds (R45) on keys taken by posting date
    (R42, R44); refused only by name where the reference passes over an outbound (R44a)."""
    _compare(h, refusals=())


@pytest.mark.slow
@EXAMPLES
@given(narrow_lifo_histories())
def test_narrow_lifo_histories_match_the_reference(h: History) -> None:
    """Deep stacks, negative inventory and fixed applications on one LIFO item."""
    _compare(h, refusals=())
