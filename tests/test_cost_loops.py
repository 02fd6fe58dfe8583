"""R44a: a to-leg does not close an open outbound its own cost depends on; it passes over it, and
the outbound stays open for a later inbound. Each case against the reference, entry by entry."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.costing import cost_ledger
from pipelines.errors import InputError, NotSupportedYet
from pipelines.ingest import read_input
from pipelines.pipeline import run_pipeline
from pipelines.settings import Settings
from tests import _ingest_company as csv
from tests.reference import reference_ledger
from tests.reference.cases import ITEM_DTYPES, PERIOD_DTYPES, TRANSACTION_DTYPES
from tests.test_differential import assert_same_ledger
from tests.test_reference import ITEM, D, tx


def _transfer(no: int, date, qty: float, frm: str, to: str, **kw) -> dict:
    return tx(no, date, "transfer", qty, loc=frm, **kw) | {"to_location_code": to}


def _both(*rows: dict, item: dict = ITEM):
    frame = pl.DataFrame(list(rows), schema=TRANSACTION_DTYPES, orient="row")
    got = cost_ledger(frame, pl.DataFrame([item], schema=ITEM_DTYPES, orient="row"),
                      pl.DataFrame(schema=PERIOD_DTYPES), Settings())
    return got, reference_ledger(list(rows), [item], Settings(), [])


def _remaining_and_cost(ledger) -> list[tuple]:
    return ledger.item_ledger_entries.sort("entry_no").select(
        "remaining_quantity", "cost_amount_actual").rows()


@pytest.mark.parametrize("method", ["FIFO", "LIFO"])
def test_the_rule_books_example_the_sale_stays_open(method: str) -> None:
    """costing.md R44a: a sale of 6 with 1 on hand (5 open at u0 = 10.00), its return of 5 (on
    hand, R45), the 5 to BLUE and back: the to-leg coming back passes over the sale."""
    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 2), "sale", 6),
                      tx(3, D(2020, 1, 3), "sales_return", 5, applies=2),
                      _transfer(4, D(2020, 1, 4), 5, "", "BLUE"),
                      _transfer(5, D(2020, 1, 5), 5, "BLUE", ""),
                      item=ITEM | {"costing_method": method})
    assert _remaining_and_cost(got) == [
        (0, 10.0), (-5, -60.0), (0, 50.0), (0, -50.0), (0, 50.0), (0, -50.0), (5, 50.0)]
    assert_same_ledger(got, want)


def test_the_rule_books_example_from_csv_transfers_back_to_the_blank_location(
        tmp_path: Path) -> None:
    """The same example as the CSV files a user writes: "back" is the blank location, an empty
    to_location_code (as an empty location_code is the blank location, not a missing one)."""
    folder = csv.company(tmp_path, csv.tx(1, "purchase", qty="1", cost="10"),
                         csv.tx(2, "sale", qty="6", sales="60"),
                         csv.tx(3, "sales_return", qty="5", applies="2", sales="50"),
                         csv.tx(4, "transfer", qty="5", to="BLUE"),
                         csv.tx(5, "transfer", qty="5", loc="BLUE"))
    ile = run_pipeline(read_input(folder))["item_ledger_entries"].sort("entry_no")
    assert ile.select("location_code", "remaining_quantity", "cost_amount_actual").rows() == [
        ("", 0, 10.0), ("", -5, -60.0), ("", 0, 50.0), ("", 0, -50.0), ("BLUE", 0, 50.0),
        ("BLUE", 0, -50.0), ("", 5, 50.0)]


@pytest.mark.parametrize("method", ["FIFO", "LIFO"])
def test_the_passed_over_sale_is_closed_by_the_next_purchase(method: str) -> None:
    """The returned unit comes back from BLUE and passes over the open sale; a later sale takes
    the on-hand to-leg (the only open inbound), and the purchase after it closes the first sale
    at its own cost, 12.00 (R44, R72)."""
    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 1, 10, loc="RED"),
                      tx(2, D(2020, 1, 2), "sale", 2, loc="RED"),
                      tx(3, D(2020, 1, 3), "sales_return", 1, loc="BLUE", applies=2),
                      _transfer(4, D(2020, 1, 4), 1, "BLUE", "RED"),
                      tx(5, D(2020, 1, 5), "sale", 1, loc="RED"),
                      tx(6, D(2020, 1, 6), "purchase", 1, 12, loc="RED"),
                      item=ITEM | {"costing_method": method})
    ile = got.item_ledger_entries.sort("entry_no")
    assert ile.get_column("remaining_quantity").to_list() == [0, 0, 0, 0, 0, 0, 0]
    apps = got.item_application_entries.filter(~pl.col("cost_application")).select(
        "inbound_item_entry_no", "outbound_item_entry_no").rows()
    assert (5, 6) in apps and (7, 2) in apps  # to-leg -> the later sale; purchase -> the first
    assert_same_ledger(got, want)


@pytest.mark.parametrize(("method", "sale_cost", "to_leg_left"), [("FIFO", -23.0, 0),
                                                                    ("LIFO", -24.0, 1)])
def test_the_passing_to_leg_under_a_later_purchase(method: str, sale_cost: float,
                                                    to_leg_left: int) -> None:
    """The passing to-leg (R44a) is on hand beside the open sale 2; the purchase of 3 at 12.00
    closes the sale (R44; 10 + 12 = 22, so the returned unit and the to-leg cost 11.00) and puts
    2 on hand after the to-leg. A sale of 2 takes the to-leg and one purchased unit under FIFO
    (11 + 12), the two purchased units under LIFO (R42, latest first)."""
    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 1, 10, loc="RED"),
                      tx(2, D(2020, 1, 2), "sale", 2, loc="RED"),
                      tx(3, D(2020, 1, 3), "sales_return", 1, loc="BLUE", applies=2),
                      _transfer(4, D(2020, 1, 4), 1, "BLUE", "RED"),
                      tx(5, D(2020, 1, 5), "purchase", 3, 12, loc="RED"),
                      tx(6, D(2020, 1, 6), "sale", 2, loc="RED"),
                      item=ITEM | {"costing_method": method})
    assert _remaining_and_cost(got) == [
        (0, 10.0), (0, -22.0), (0, 11.0), (0, -11.0), (to_leg_left, 11.0), (1 - to_leg_left, 36.0),
        (0, sale_cost)]
    assert_same_ledger(got, want)


def test_to_leg_closing_an_unrelated_open_sale_is_costed() -> None:
    """The same shape without the return: the to-leg's cost comes from a purchase at BLUE, so it
    closes the open sale (R44)."""
    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 1, 10, loc="RED"),
                      tx(2, D(2020, 1, 2), "sale", 2, loc="RED"),
                      tx(3, D(2020, 1, 3), "purchase", 1, 12, loc="BLUE"),
                      _transfer(4, D(2020, 1, 4), 1, "BLUE", "RED"))
    assert [c for _, c in _remaining_and_cost(got)] == [10.0, -22.0, 12.0, -12.0, 12.0]
    assert_same_ledger(got, want)


def test_passing_over_one_open_sale_and_closing_another() -> None:
    """The to-leg's cost comes from the return of sale 2, which is open: it passes over sale 2
    and closes the next candidate, the unrelated open sale 3 (R44a); sale 2 stays open."""
    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 1, 10, loc="RED"),
                      tx(2, D(2020, 1, 2), "sale", 2, loc="RED"),
                      tx(3, D(2020, 1, 3), "sale", 1, loc="RED"),
                      tx(4, D(2020, 1, 4), "sales_return", 1, loc="BLUE", applies=2),
                      _transfer(5, D(2020, 1, 5), 1, "BLUE", "RED"))
    assert _remaining_and_cost(got) == [(0, 10.0), (-1, -20.0), (0, -10.0), (0, 10.0),
                                        (0, -10.0), (0, 10.0)]
    assert_same_ledger(got, want)


@pytest.mark.parametrize("method", ["FIFO", "LIFO"])
def test_a_to_leg_beyond_the_outbounds_it_may_close_keeps_the_rest_on_hand(method: str) -> None:
    """The to-leg of 2 closes sale 3 (1 open) and keeps 1 on hand beside the open sale 2 it
    passes over (R44a, R45): sale 6 takes that unit first, the purchase closes sale 2's 2 open
    units and sale 6's other unit (R44: FIFO in that order, LIFO the latest first; on LIFO keys
    refused until `lifo_passes.py`)."""
    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 1, 10, loc="RED"),
                      tx(2, D(2020, 1, 2), "sale", 3, loc="RED"),
                      tx(3, D(2020, 1, 3), "sale", 1, loc="RED"),
                      tx(4, D(2020, 1, 4), "sales_return", 2, loc="BLUE", applies=2),
                      _transfer(5, D(2020, 1, 5), 2, "BLUE", "RED"),
                      tx(6, D(2020, 1, 6), "sale", 2, loc="RED"),
                      tx(7, D(2020, 1, 7), "purchase", 5, 14, loc="RED"),
                      item=ITEM | {"costing_method": method})
    assert [c for _, c in _remaining_and_cost(got)] == [
        10.0, -38.0, -12.67, 25.33, -25.33, 25.34, -26.67, 70.0]
    apps = got.item_application_entries.filter(~pl.col("cost_application")).select(
        "inbound_item_entry_no", "outbound_item_entry_no", "quantity").rows()
    assert {(6, 3, -1.0), (6, 7, -1.0), (8, 7, -1.0), (8, 2, -2.0)} <= set(apps)
    assert_same_ledger(got, want)


def test_a_to_leg_short_of_the_outbounds_it_may_close_closes_the_oldest() -> None:
    """The to-leg of 1 closes the 1 open unit of sale 1 and passes over sale 3, posted after
    it: nothing moves (R44a); the purchase then closes sale 3."""
    got, want = _both(tx(1, D(2020, 1, 1), "sale", 2, loc="RED"),
                      tx(2, D(2020, 1, 2), "purchase", 1, 10, loc="RED"),
                      tx(3, D(2020, 1, 3), "sale", 2, loc="RED"),
                      tx(4, D(2020, 1, 4), "sales_return", 1, loc="BLUE", applies=3),
                      _transfer(5, D(2020, 1, 5), 1, "BLUE", "RED"),
                      tx(6, D(2020, 1, 6), "purchase", 5, 14, loc="RED"))
    assert [c for _, c in _remaining_and_cost(got)] == [-24.0, 10.0, -28.0, 14.0, -14.0, 14.0,
                                                       70.0]
    assert_same_ledger(got, want)


def test_a_to_leg_short_of_the_outbounds_it_may_close_passes_over_an_older_one() -> None:
    """The to-leg of 1 closes 1 of sale 3's 2 open units and passes over the older sale 2 it
    depends on; the purchase then closes sale 2's open unit before sale 3's other one (R44):
    sale 2 gets 10 + 14, sale 3 the to-leg's 12 (the return's cost: sale 2's first unit) + 14."""
    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 1, 10, loc="RED"),
                      tx(2, D(2020, 1, 2), "sale", 2, loc="RED"),
                      tx(3, D(2020, 1, 3), "sale", 2, loc="RED"),
                      tx(4, D(2020, 1, 4), "sales_return", 1, loc="BLUE", applies=2),
                      _transfer(5, D(2020, 1, 5), 1, "BLUE", "RED"),
                      tx(6, D(2020, 1, 6), "purchase", 5, 14, loc="RED"))
    assert [c for _, c in _remaining_and_cost(got)] == [10.0, -24.0, -26.0, 12.0, -12.0, 12.0,
                                                       70.0]
    assert_same_ledger(got, want)


def test_two_to_legs_passing_over_on_one_key() -> None:
    """Two returns of the open sale 2 come back by two transfers: each to-leg closes the oldest
    open unit it does not depend on (one of sale 3's each, the second before the younger sale
    6's), the purchase closes what they passed over first (R44a, one to-leg per level of
    `returns._partition`): sale 2's 2 units, then sale 3's last and sale 6's."""
    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 1, 10, loc="RED"),
                      tx(2, D(2020, 1, 2), "sale", 3, loc="RED"),
                      tx(3, D(2020, 1, 3), "sale", 3, loc="RED"),
                      tx(4, D(2020, 1, 4), "sales_return", 1, loc="BLUE", applies=2),
                      _transfer(5, D(2020, 1, 5), 1, "BLUE", "RED"),
                      tx(6, D(2020, 1, 6), "sale", 1, loc="RED"),
                      tx(7, D(2020, 1, 7), "sales_return", 1, loc="BLUE", applies=2),
                      _transfer(8, D(2020, 1, 8), 1, "BLUE", "RED"),
                      tx(9, D(2020, 1, 9), "purchase", 6, 14, loc="RED"))
    assert _remaining_and_cost(got) == [
        (0, 10.0), (0, -38.0), (0, -39.33), (0, 12.67), (0, -12.67), (0, 12.67), (0, -14.0),
        (0, 12.66), (0, -12.66), (0, 12.66), (2, 84.0)]
    assert_same_ledger(got, want)


def test_a_pass_over_ends_when_the_dependency_does() -> None:
    """The RED to-leg (5) carries the returns of sales 1 and 3 and passes over the open sale 3.
    Had it closed sale 3, the "" to-leg (8), which carries sale 3's second return, would depend
    on sale 1 through it; with sale 3 left open it does not, so it closes sale 1 (R44a as BC
    decides it at each posting; found by random histories, shrunk from 36 rows)."""
    got, want = _both(tx(1, D(2020, 1, 7), "sale", 1),
                      tx(2, D(2020, 1, 25), "sales_return", 1, loc="BLUE", applies=1),
                      tx(3, D(2020, 2, 12), "sale", 3, loc="RED"),
                      tx(4, D(2020, 4, 24), "sales_return", 1, loc="BLUE", applies=3),
                      _transfer(5, D(2020, 5, 11), 2, "BLUE", "RED"),
                      tx(6, D(2020, 6, 13), "sales_return", 2, loc="BLUE", applies=3),
                      tx(7, D(2020, 6, 22), "purchase", 6, 0.5, loc="BLUE"),
                      _transfer(8, D(2020, 7, 1), 3.75, "BLUE", ""))
    assert [r for r, _ in _remaining_and_cost(got)] == [0, 0, -3, 0, 0, 2, 0, 4.25, 0, 2.75]
    assert_same_ledger(got, want)


def test_the_earlier_to_leg_decides_first() -> None:
    """Two to-legs, each of which would depend on the outbound the other closes: BC decides at
    each posting, on the applications made before it. The "" to-leg of transfer 7 carries the
    return of RED's open sale 2 and closes sale 4; nothing links it to sale 4 yet. The RED to-leg
    of transfer 8, posted after, carries sale 4's return, which through that closing now depends
    on sale 2: it passes over sale 2 (found by random back-dated AVERAGE histories, shrunk
    from 27 rows)."""
    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 1, 10, loc="RED"),
                      tx(2, D(2020, 1, 2), "sale", 2, loc="RED"),
                      tx(3, D(2020, 1, 3), "purchase", 1, 20), tx(4, D(2020, 1, 4), "sale", 2),
                      tx(5, D(2020, 1, 5), "sales_return", 1, loc="BLUE", applies=2),
                      tx(6, D(2020, 1, 6), "sales_return", 1, loc="BLUE", applies=4),
                      _transfer(7, D(2020, 1, 7), 1, "BLUE", ""),
                      _transfer(8, D(2020, 1, 8), 1, "BLUE", "RED"))
    assert _remaining_and_cost(got) == [(0, 10.0), (-1, -20.0), (0, 20.0), (0, -30.0), (0, 10.0),
                                        (0, 15.0), (0, -10.0), (0, 10.0), (0, -15.0), (1, 15.0)]
    assert_same_ledger(got, want)


def test_a_fixed_application_to_the_passing_to_leg() -> None:
    """The rule book's example, then a sale fixed-applied to the to-leg that passed over the open
    sale (R43): the to-leg is on hand, so the fixed application is valid and takes its cost."""
    got, want = _both(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 2), "sale", 6),
                      tx(3, D(2020, 1, 3), "sales_return", 5, applies=2),
                      _transfer(4, D(2020, 1, 4), 5, "", "BLUE"),
                      _transfer(5, D(2020, 1, 5), 5, "BLUE", ""),
                      tx(6, D(2020, 1, 6), "sale", 2, applies=5))
    assert _remaining_and_cost(got)[-2:] == [(3, 50.0), (0, -20.0)]
    assert_same_ledger(got, want)


@pytest.mark.parametrize("sold", [1, 3])
def test_a_fixed_application_to_a_passing_to_leg_after_an_automatic_sale(sold: int) -> None:
    """An automatic sale takes on-hand units of the passing to-leg before the fixed application
    to it (of 2): with 1 or 3 of the 5 taken, enough remain, as the reference has it (refused
    as not modelled until the keys with reserved units on hand beside open outbounds were
    checked by priority, `priority.dated_fixed_violations`)."""
    got, want = _both(*_after_an_automatic_sale(sold))
    assert _remaining_and_cost(got)[-3:] == [(5 - sold - 2, 50.0), (0, -10.0 * sold), (0, -20.0)]
    assert_same_ledger(got, want)


def test_a_fixed_application_to_a_passing_to_leg_the_automatic_sale_emptied_is_refused() -> None:
    """The automatic sale takes 4 of the 5 on-hand units, so the fixed application of 2 finds
    1: BC's input error (R43), refused by the stage as not modelled for a passing to-leg."""
    with pytest.raises(NotSupportedYet, match=r"transaction_no=7.*passes over.*\(R44a\)"):
        _both(*_after_an_automatic_sale(4))


def _after_an_automatic_sale(sold: int) -> tuple[dict, ...]:
    return (tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 2), "sale", 6),
            tx(3, D(2020, 1, 3), "sales_return", 5, applies=2),
            _transfer(4, D(2020, 1, 4), 5, "", "BLUE"),
            _transfer(5, D(2020, 1, 5), 5, "BLUE", ""),
            tx(6, D(2020, 1, 6), "sale", sold), tx(7, D(2020, 1, 7), "sale", 2, applies=5))


def _reserved_to_leg(*, other_sale: bool) -> tuple[dict, ...]:
    """Sale 2 leaves 7 open; its return of 2.5 at RED goes back to "" (less sale 4's 0.5 taken
    at RED), the to-leg all reserved by transfer 6's fixed application. With `other_sale`,
    sale 4 of 1 is at "" instead, open when the to-leg comes."""
    return (tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 2), "sale", 8),
            tx(3, D(2020, 1, 3), "sales_return", 2.5, loc="RED", applies=2),
            tx(4, D(2020, 1, 3), "sale", 1 if other_sale else 0.5, loc="" if other_sale else "RED"),
            _transfer(5, D(2020, 1, 4), 2.5 if other_sale else 2, "RED", ""),
            _transfer(6, D(2020, 1, 5), 2.5 if other_sale else 2, "", "BLUE", applies=5))


@pytest.mark.parametrize("method", ["FIFO", "LIFO", "AVERAGE"])
def test_a_to_leg_all_reserved_by_a_fixed_application_passes_over(method: str) -> None:
    """The to-leg of transfer 5 comes back to the key of the open sale 2 its cost depends on,
    all of it reserved by transfer 6's fixed application: BC passes it over the sale, so its
    units stay for the fixed application (valid, R43), though the to-leg makes no application
    to show the pass-over (refused as not modelled until `loops.wholly_passing`)."""
    item = ITEM | {"costing_method": method}
    got, want = _both(*_reserved_to_leg(other_sale=False), item=item)
    assert _remaining_and_cost(got) == [(0, 10.0), (-7, -80.0), (0, 25.0), (0, -5.0), (0, -20.0),
                                        (0, 20.0), (0, -20.0), (2, 20.0)]
    assert_same_ledger(got, want)


@pytest.mark.parametrize("method", ["FIFO", "LIFO"])
def test_a_reserved_to_leg_that_would_close_another_sale_is_refused(method: str) -> None:
    """Sale 4 is open too and the to-leg does not depend on it: BC closes it with the to-leg's
    units, so transfer 6 finds 1.5 of 2.5 (BC's input error, R43); the stage does not model the
    to-leg closing one outbound and passing over another here and refuses it by name."""
    item = ITEM | {"costing_method": method}
    rows = _reserved_to_leg(other_sale=True)
    with pytest.raises(InputError, match=r"transaction_no=6.*R43"):
        reference_ledger(list(rows), [item], Settings(), [])
    with pytest.raises(NotSupportedYet, match=r"transaction_no=6.*passes over.*\(R44a\)"):
        _both(*rows, item=item)


def test_lifo_a_to_leg_passes_over_the_latest_open_sale_and_closes_an_older_one() -> None:
    """LIFO: the to-leg's cost comes from the return of sale 3, the latest open outbound (on
    top of N): it passes over it and closes the older sale 1's open unit instead (R44, R44a,
    `lifo_passes.py`; refused until then). The purchase closes sale 3: 10 + 14 and 2 x 14."""
    got, want = _both(tx(1, D(2020, 1, 1), "sale", 2, loc="RED"),
                      tx(2, D(2020, 1, 2), "purchase", 1, 10, loc="RED"),
                      tx(3, D(2020, 1, 3), "sale", 2, loc="RED"),
                      tx(4, D(2020, 1, 4), "sales_return", 1, loc="BLUE", applies=3),
                      _transfer(5, D(2020, 1, 5), 1, "BLUE", "RED"),
                      tx(6, D(2020, 1, 6), "purchase", 5, 14, loc="RED"),
                      item=ITEM | {"costing_method": "LIFO"})
    assert _remaining_and_cost(got) == [(0, -24.0), (0, 10.0), (0, -28.0), (0, 14.0),
                                        (0, -14.0), (0, 14.0), (3, 70.0)]
    apps = got.item_application_entries.filter(~pl.col("cost_application")).select(
        "inbound_item_entry_no", "outbound_item_entry_no", "quantity").rows()
    assert (6, 1, -1.0) in apps and (7, 3, -2.0) in apps
    assert_same_ledger(got, want)


@pytest.mark.parametrize(("reserved", "valid"), [(1, True), (2, False)])
def test_lifo_a_passing_to_leg_beside_a_fixed_application(reserved: int, valid: bool) -> None:
    """LIFO: the to-leg of 4 passes over sale 2, the latest open, and closes 1 of sale 1's 2
    open units below it, so the purchase finds 4 open units, not 5. Holding 1 unit for sale 7's
    fixed application (R43), its other 4 close them: valid, though it would not be had the
    to-leg closed nothing (the capacity check reads the stream with the to-leg's moves).
    Holding 2, the purchase closes the 4 with a reserved unit and sale 7 finds 1 of 2: BC's
    input error."""
    rows = (tx(1, D(2020, 1, 1), "sale", 2), tx(2, D(2020, 1, 2), "sale", 3),
            tx(3, D(2020, 1, 3), "sales_return", 1, loc="BLUE", applies=2),
            _transfer(4, D(2020, 1, 4), 1, "BLUE", ""), tx(5, D(2020, 1, 5), "purchase", 5, 10),
            tx(7, D(2020, 1, 7), "sale", reserved, applies=5))
    item = ITEM | {"costing_method": "LIFO"}
    if valid:
        got, want = _both(*rows, item=item)
        assert_same_ledger(got, want)
        apps = got.item_application_entries.filter(~pl.col("cost_application")).select(
            "inbound_item_entry_no", "outbound_item_entry_no", "quantity").rows()
        assert {(5, 1, -1.0), (6, 2, -3.0), (6, 1, -1.0), (6, 7, -1.0)} <= set(apps)
    else:
        with pytest.raises(InputError, match=r"transaction_no=7.*R43"):
            reference_ledger(list(rows), [item], Settings(), [])
        with pytest.raises(InputError, match=r"transaction_no=7.*R43"):
            _both(*rows, item=item)


def test_a_pass_over_on_a_key_with_a_back_dated_receipt() -> None:
    """FIFO: the to-leg passes over sale 2, whose return it carries, and closes sale 3; the
    purchase dated before everything on the key (R41 by posting date for what is on hand)
    closes sale 2 (R44). Only the key's inbounds are back-dated, so its open outbounds are
    closed in entry order, the pass-over included (refused until then): sale 2 costs 10 + 14,
    its return and the to-leg 12, sale 3 the to-leg's 12."""
    got, want = _both(tx(1, D(2020, 1, 5), "purchase", 1, 10), tx(2, D(2020, 1, 6), "sale", 2),
                      tx(3, D(2020, 1, 7), "sale", 1),
                      tx(4, D(2020, 1, 8), "sales_return", 1, loc="BLUE", applies=2),
                      _transfer(5, D(2020, 1, 9), 1, "BLUE", ""),
                      tx(6, D(2020, 1, 1), "purchase", 2, 14))
    assert _remaining_and_cost(got) == [(0, 10.0), (0, -24.0), (0, -12.0), (0, 12.0),
                                        (0, -12.0), (0, 12.0), (1, 28.0)]
    assert_same_ledger(got, want)


def test_lifo_a_pass_over_on_a_key_with_a_back_dated_receipt() -> None:
    """LIFO: the to-leg passes over sale 3, the latest open, whose return it carries, and
    closes sale 2's open unit; the purchase dated before everything on the key closes sale 3
    (R44). Only the key's inbounds are back-dated, so its open outbounds are closed in entry
    order, the pass-over included (refused until then): sale 2 costs 10 + 14, sale 3 14."""
    got, want = _both(tx(1, D(2020, 1, 5), "purchase", 1, 10), tx(2, D(2020, 1, 6), "sale", 2),
                      tx(3, D(2020, 1, 7), "sale", 1),
                      tx(4, D(2020, 1, 8), "sales_return", 1, loc="BLUE", applies=3),
                      _transfer(5, D(2020, 1, 9), 1, "BLUE", ""),
                      tx(6, D(2020, 1, 1), "purchase", 2, 14),
                      item=ITEM | {"costing_method": "LIFO"})
    assert _remaining_and_cost(got) == [(0, 10.0), (0, -24.0), (0, -14.0), (0, 14.0),
                                        (0, -14.0), (0, 14.0), (1, 28.0)]
    assert_same_ledger(got, want)


def test_a_fixed_application_to_a_return_on_hand_beside_a_pass_over() -> None:
    """The to-leg of 7 passes over sale 4 (its return at BLUE), the return of sale 3 (9) comes
    in while sale 4 is still open (R45, on hand), and sale 19 is fixed-applied to it (R43).
    The on-hand to-leg serves transfer 16 and sale 17 first (FIFO, all on one date), so the
    return keeps its 2 units for sale 19: valid, though the to-leg's units make the balance
    positive when the return is posted (read as entry order, sale 17 would have taken them)."""
    d = D(2020, 1, 1)
    rows = [tx(3, d, "sale", 2), tx(4, d, "sale", 49.993),
            tx(5, d, "sales_return", 49.993, loc="BLUE", applies=4),
            tx(6, d, "purchase", 49.993, 1), _transfer(7, d, 6, "BLUE", ""),
            tx(8, d, "purchase", 1, 1), tx(9, d, "sales_return", 2, applies=3),
            *(tx(n, d, "purchase", 1, 1) for n in (10, 11, 12, 13)),
            tx(14, d, "purchase", 0.5, 1, loc="BLUE"), tx(15, d, "purchase", 1, 1),
            _transfer(16, d, 2, "", "BLUE"), tx(17, d, "sale", 4),
            tx(18, d, "purchase", 1, 1), tx(19, d, "sale", 2, applies=9)]
    got, want = _both(*rows)
    ile = got.item_ledger_entries.sort("entry_no")
    assert ile.filter(pl.col("entry_no").is_in([6, 8, 15, 17, 19])).select(
        "remaining_quantity", "cost_amount_actual").rows() == [
        (0, 6.0), (0, 2.0), (0, -2.0), (0, -4.0), (0, -2.0)]
    assert_same_ledger(got, want)
