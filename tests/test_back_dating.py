"""R41, R44 by posting date: back-dated entries are taken (open inbounds) and closed (open
outbounds) by (posting date, entry number), checked against the reference entry by entry."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipelines.costing import cost_ledger
from pipelines.costing.lifo_dates import _park as lifo_park
from pipelines.costing.priority import _park as fifo_park
from pipelines.costing.priority import reorderable_keys
from pipelines.errors import InputError, NotSupportedYet
from pipelines.settings import Settings
from tests.reference import new_book, post_transaction, reference_ledger
from tests.reference.arith import ZERO, exact
from tests.reference.cases import ITEM_DTYPES, PERIOD_DTYPES, TRANSACTION_DTYPES
from tests.strategies import START, History, _fixed_inbound, _history, quantities, unit_costs
from tests.test_differential import _compare_wide, assert_same_ledger
from tests.test_reference import ITEM, D, tx


def _both(*rows: dict, method: str = "FIFO", settings: Settings | None = None):
    item = ITEM | {"costing_method": method}
    settings = settings or Settings(average_cost_period="month")
    frame = pl.DataFrame(list(rows), schema=TRANSACTION_DTYPES, orient="row")
    got = cost_ledger(frame, pl.DataFrame([item], schema=ITEM_DTYPES, orient="row"),
                      pl.DataFrame(schema=PERIOD_DTYPES), settings)
    want = reference_ledger(list(rows), [item], settings, [])
    assert_same_ledger(got, want)
    return got


def _applied(ledger) -> list[tuple]:
    return sorted(ledger.item_application_entries.filter(
        pl.col("outbound_item_entry_no").is_not_null()).select(
        "inbound_item_entry_no", "outbound_item_entry_no", "quantity").rows())


def _remaining(ledger) -> list[float]:
    return ledger.item_ledger_entries.sort("entry_no").get_column("remaining_quantity").to_list()


def test_a_back_dated_purchase_is_sold_before_the_later_dated_one_on_hand() -> None:
    """Purchase on the 10th, then one posted later but dated the 5th: the sale takes the 5th's
    first (R41), although it was posted second."""
    led = _both(tx(1, D(2020, 1, 10), "purchase", 2, 10), tx(2, D(2020, 1, 5), "purchase", 2, 20),
                tx(3, D(2020, 1, 20), "sale", 3))
    assert _applied(led) == [(1, 3, -1.0), (2, 3, -2.0)]
    assert _remaining(led) == [1.0, 0.0, 0.0]
    assert led.item_ledger_entries.sort("entry_no")["cost_amount_actual"].to_list() == [
        20.0, 40.0, -50.0]


def test_a_partly_sold_receipt_is_split_around_the_back_dated_one() -> None:
    """The receipt of the 10th is partly sold when the one of the 5th is posted: the next sale
    takes the rest of the 5th's before going back to the 10th's (first-fit by priority)."""
    led = _both(tx(1, D(2020, 1, 10), "purchase", 5, 10), tx(2, D(2020, 1, 11), "sale", 2),
                tx(3, D(2020, 1, 5), "purchase", 2, 20), tx(4, D(2020, 1, 12), "sale", 4),
                tx(5, D(2020, 1, 13), "purchase", 1, 30), tx(6, D(2020, 1, 14), "sale", 2))
    assert _applied(led) == [(1, 2, -2.0), (1, 4, -2.0), (1, 6, -1.0), (3, 4, -2.0),
                             (5, 6, -1.0)]


def test_nested_back_dating_across_several_receipts() -> None:
    """Two back-dated receipts, the second dated before the first: both jump the receipts open
    when they are posted, in (posting date, entry number) order."""
    led = _both(tx(1, D(2020, 1, 10), "purchase", 1, 10), tx(2, D(2020, 1, 12), "purchase", 1, 12),
                tx(3, D(2020, 1, 11), "purchase", 1, 11), tx(4, D(2020, 1, 13), "sale", 1),
                tx(5, D(2020, 1, 9), "purchase", 1, 9), tx(6, D(2020, 1, 14), "sale", 3))
    assert _applied(led) == [(1, 4, -1.0), (2, 6, -1.0), (3, 6, -1.0), (5, 6, -1.0)]


@pytest.mark.parametrize("method", ["AVERAGE", "STANDARD"])
def test_other_methods_apply_back_dated_receipts_by_posting_date(method: str) -> None:
    """R41 holds for AVERAGE and STANDARD too (R103: the back-dated receipt enters its period's
    pool); the remaining quantities follow the application."""
    settings = Settings(average_cost_period="month")
    rows = (tx(1, D(2020, 2, 10), "purchase", 2, 10), tx(2, D(2020, 1, 5), "purchase", 2, 20),
            tx(3, D(2020, 2, 20), "sale", 3))
    if method == "STANDARD":
        item = ITEM | {"costing_method": "STANDARD", "standard_cost": 15.0}
        frame = pl.DataFrame(list(rows), schema=TRANSACTION_DTYPES, orient="row")
        got = cost_ledger(frame, pl.DataFrame([item], schema=ITEM_DTYPES, orient="row"),
                          pl.DataFrame(schema=PERIOD_DTYPES), settings)
        assert_same_ledger(got, reference_ledger(list(rows), [item], settings, []))
    else:
        got = _both(*rows, method=method, settings=settings)
    assert _remaining(got) == [1.0, 0.0, 0.0]


def test_a_specific_item_back_dated_receipt_is_costed() -> None:
    """Every outbound of a SPECIFIC item names its entry: the order takes nothing, so a
    back-dated receipt changes nothing and is not refused."""
    item = ITEM | {"costing_method": "SPECIFIC"}
    rows = [tx(1, D(2020, 1, 10), "purchase", 2, 10), tx(2, D(2020, 1, 5), "purchase", 2, 20),
            tx(3, D(2020, 1, 20), "sale", 1, applies=1)]
    frame = pl.DataFrame(rows, schema=TRANSACTION_DTYPES, orient="row")
    got = cost_ledger(frame, pl.DataFrame([item], schema=ITEM_DTYPES, orient="row"),
                      pl.DataFrame(schema=PERIOD_DTYPES), Settings())
    assert_same_ledger(got, reference_ledger(rows, [item], Settings(), []))


def test_a_lifo_receipt_back_dated_behind_a_sold_out_one_keeps_the_stack_order() -> None:
    """R42: the receipt of the 10th is sold out when the one of the 5th is posted, so no open
    receipt is dated later: the stack in entry order is BC's. The sale of 6 on the 16th takes the
    latest-dated open receipt first, the 15th's 5 at 30.00, then 1 of the 5th's at 20.00."""
    led = _both(tx(1, D(2020, 1, 10), "purchase", 10, 10), tx(2, D(2020, 1, 12), "sale", 10),
                tx(3, D(2020, 1, 5), "purchase", 5, 20), tx(4, D(2020, 1, 15), "purchase", 5, 30),
                tx(5, D(2020, 1, 16), "sale", 6), method="LIFO")
    assert _applied(led) == [(1, 2, -10.0), (3, 5, -1.0), (4, 5, -5.0)]
    assert led.item_ledger_entries.sort("entry_no")["cost_amount_actual"].to_list() == [
        100.0, -100.0, 100.0, 150.0, -170.0]


def test_a_lifo_receipt_back_dated_behind_an_open_one_is_taken_by_date() -> None:
    """R42: the receipt of the 10th is on hand when the one of the 5th is posted; the sale of 6
    on the 16th takes the latest-dated open receipt first, the 10th's at 10.00, although the
    5th's was posted later (the stack in entry order would take the 5th's 5 at 20.00 first)."""
    led = _both(tx(1, D(2020, 1, 10), "purchase", 10, 10), tx(2, D(2020, 1, 5), "purchase", 5, 20),
                tx(3, D(2020, 1, 16), "sale", 6), method="LIFO")
    assert _applied(led) == [(1, 3, -6.0)]
    assert _remaining(led) == [4, 5, 0]
    assert led.item_ledger_entries.sort("entry_no")["cost_amount_actual"].to_list() == [
        100.0, 100.0, -60.0]


def test_a_fixed_return_on_a_lifo_key_taken_by_date() -> None:
    """R42 with R43: the receipt of the 10th keeps 1 unit for the purchase return; the back-dated
    receipt of the 5th ranks below it, so the sale of 1 takes the 10th's unreserved unit and the
    return finds its own."""
    led = _both(tx(1, D(2020, 1, 10), "purchase", 2, 10), tx(2, D(2020, 1, 5), "purchase", 2, 20),
                tx(3, D(2020, 1, 12), "sale", 1),
                tx(4, D(2020, 1, 13), "purchase_return", 1, applies=1), method="LIFO")
    assert _applied(led) == [(1, 3, -1.0), (1, 4, -1.0)]
    assert _remaining(led) == [0, 2, 0, 0]


def test_a_lifo_sale_by_date_takes_the_reserved_unit() -> None:
    """The same with a sale of 2: BC's sale takes the latest-dated receipt, the 10th's, whole
    (the entry-order stack would have taken the 5th's), so the return's unit is gone: R43."""
    rows = [tx(1, D(2020, 1, 10), "purchase", 2, 10), tx(2, D(2020, 1, 5), "purchase", 2, 20),
            tx(3, D(2020, 1, 12), "sale", 2),
            tx(4, D(2020, 1, 13), "purchase_return", 1, applies=1)]
    frame = pl.DataFrame(rows, schema=TRANSACTION_DTYPES, orient="row")
    item = pl.DataFrame([ITEM | {"costing_method": "LIFO"}], schema=ITEM_DTYPES, orient="row")
    with pytest.raises(InputError, match=r"transaction_no=4.*R43") as caught:
        cost_ledger(frame, item, pl.DataFrame(schema=PERIOD_DTYPES), Settings())
    assert not isinstance(caught.value, NotSupportedYet)
    with pytest.raises(InputError, match="R43"):
        reference_ledger(rows, [ITEM | {"costing_method": "LIFO"}], Settings(), [])


def test_a_lifo_sale_back_dated_behind_an_open_one_is_closed_by_date() -> None:
    """R44 on a LIFO key: two sales into negative inventory, the second back-dated before the
    first; the purchase of 4 closes the latest-dated open sale first, the 10th's (entry 1), and
    leaves the 5th's open at -3 (in entry order it would close the 5th's first)."""
    led = _both(tx(1, D(2020, 1, 10), "sale", 5), tx(2, D(2020, 1, 5), "sale", 3),
                tx(3, D(2020, 1, 20), "purchase", 4, 10), method="LIFO")
    assert _applied(led) == [(3, 1, -4.0)]
    assert _remaining(led) == [-1, -3, 0]


def test_a_fixed_return_of_a_receipt_outside_the_reordered_block() -> None:
    """A purchase return fixed-applied to the first receipt (R43), which no back-dating moves:
    the reordered block is the back-dated receipt and the one it jumps; the reserved unit stays
    for the return, and the capacity check holds as in entry order."""
    led = _both(tx(1, D(2020, 1, 1), "purchase", 2, 5), tx(2, D(2020, 1, 10), "purchase", 2, 10),
                tx(3, D(2020, 1, 5), "purchase", 2, 20), tx(4, D(2020, 1, 12), "sale", 1),
                tx(5, D(2020, 1, 13), "purchase_return", 1, applies=1),
                tx(6, D(2020, 1, 14), "sale", 3))
    assert _applied(led) == [(1, 4, -1.0), (1, 5, -1.0), (2, 6, -1.0), (3, 6, -2.0)]


def test_a_fixed_return_of_a_reordered_receipt_keeps_its_reserved_unit() -> None:
    """R41 with R43 on a FIFO key: the return names the receipt the back-dated one jumps. The
    sale of 1 takes the earliest-dated receipt, the 5th's at 20.00, not the 10th's; the return
    then finds both units of the 10th's receipt and takes one at 10.00."""
    led = _both(tx(1, D(2020, 1, 10), "purchase", 2, 10), tx(2, D(2020, 1, 5), "purchase", 2, 20),
                tx(3, D(2020, 1, 12), "sale", 1),
                tx(4, D(2020, 1, 13), "purchase_return", 1, applies=1))
    assert _applied(led) == [(1, 4, -1.0), (2, 3, -1.0)]
    assert _remaining(led) == [1, 1, 0, 0]
    assert led.item_ledger_entries.sort("entry_no")["cost_amount_actual"].to_list() == [
        20.0, 40.0, -20.0, -10.0]


def _both_refuse_r43(*rows: dict, applies: int = 1) -> None:
    frame = pl.DataFrame(list(rows), schema=TRANSACTION_DTYPES, orient="row")
    message = rf"transaction_no=5, column applies_to, value '{applies}': R43: "
    with pytest.raises(InputError, match=message) as caught:
        cost_ledger(frame, pl.DataFrame([ITEM], schema=ITEM_DTYPES, orient="row"),
                    pl.DataFrame(schema=PERIOD_DTYPES), Settings())
    assert not isinstance(caught.value, NotSupportedYet)
    with pytest.raises(InputError, match=r"transaction_no=5.*R43"):
        reference_ledger(list(rows), [ITEM], Settings(), [])


def test_a_sale_by_date_that_takes_a_reserved_unit_over_a_lower_priority_one_is_an_error() -> None:
    """R41, R43: receipts of the 10th (2, one reserved for the return), the 5th (1) and the 20th
    (5). BC's sale of 3 takes the 5th's unit, then both of the 10th's before the 20th's (which
    ranks lower), so the return posted after it finds nothing: the input is invalid, not
    "not supported yet" (without the reservation the sale would take a unit of the 20th's)."""
    _both_refuse_r43(
        tx(1, D(2020, 1, 10), "purchase", 2, 10), tx(2, D(2020, 1, 5), "purchase", 1, 20),
        tx(3, D(2020, 1, 20), "purchase", 5, 30), tx(4, D(2020, 1, 21), "sale", 3),
        tx(5, D(2020, 1, 22), "purchase_return", 1, applies=1))


def test_a_sale_by_date_that_runs_into_a_reserved_unit_is_an_error() -> None:
    """R41, R43: the same without the receipt of the 20th and a sale of 4: BC takes all of both
    receipts, the reserved unit too; without it the key would go short by one."""
    _both_refuse_r43(
        tx(1, D(2020, 1, 10), "purchase", 2, 10), tx(2, D(2020, 1, 5), "purchase", 2, 20),
        tx(3, D(2020, 1, 11), "sale", 1), tx(4, D(2020, 1, 21), "sale", 3),
        tx(5, D(2020, 1, 22), "purchase_return", 1, applies=1))


def test_a_reserved_receipt_that_does_not_close_the_open_sales_is_an_error() -> None:
    """R44, R43: a sale of 3 into an empty key, then the receipt of 2 (one reserved for the
    return) and a back-dated one: BC closes 2 of the open sale with all of the first receipt, so
    the return finds nothing left."""
    _both_refuse_r43(
        tx(1, D(2020, 1, 12), "sale", 3), tx(2, D(2020, 1, 10), "purchase", 2, 10),
        tx(3, D(2020, 1, 5), "purchase", 1, 20), tx(4, D(2020, 1, 20), "purchase", 5, 30),
        tx(5, D(2020, 1, 22), "purchase_return", 1, applies=2), applies=2)


def test_a_reserved_receipt_beside_a_return_on_hand_while_short_is_an_error() -> None:
    """R45, R44, R43: the sale of 3 goes short and its return stays on hand beside it (the
    key's balance is 0, the sale still open). BC closes 2 of the sale with all of the receipt of
    2 (one reserved for the return), so the return finds nothing left: the balance alone would
    not tell, the open sale does."""
    _both_refuse_r43(
        tx(1, D(2020, 1, 12), "sale", 3), tx(2, D(2020, 1, 13), "sales_return", 3, applies=1),
        tx(3, D(2020, 1, 14), "purchase", 2, 10), tx(4, D(2020, 1, 5), "purchase", 1, 20),
        tx(5, D(2020, 1, 22), "purchase_return", 1, applies=3), applies=3)


def test_a_fixed_application_to_a_return_on_hand_beside_the_sale_it_reverses() -> None:
    """R45, R43, R41: the return of 1 is on hand beside the open sale (R45), reserved for the
    negative adjustment naming it; the back-dated receipt closes the sale. The sale open when
    the return is posted takes nothing of it (a return closes nothing): valid, not R43."""
    led = _both(tx(1, D(2020, 1, 10), "sale", 3), tx(2, D(2020, 1, 11), "sales_return", 1,
                                                      applies=1),
                tx(3, D(2020, 1, 5), "purchase", 3, 10),
                tx(4, D(2020, 1, 12), "negative_adjustment", 1, applies=2))
    assert _applied(led) == [(2, 1, 1.0), (2, 4, -1.0), (3, 1, -3.0)]


def test_a_back_dated_receipt_on_a_key_with_a_pass_over() -> None:
    """R44a with R41: the sale of 5 goes short, its return is on hand (R45) and goes to BLUE and
    back; the to-leg coming back passes over the sale (its cost depends on it) and is on hand.
    The receipt of 7 back-dated to the 5th closes the sale and leaves 2 on hand dated before the
    to-leg: the sale of the 14th takes them, not the to-leg's units as entry order would."""
    def transfer(no: int, day: int, src: str, dst: str) -> dict:
        return {**tx(no, D(2020, 1, day), "transfer", 5, loc=src), "to_location_code": dst}

    led = _both(tx(1, D(2020, 1, 10), "sale", 5), tx(2, D(2020, 1, 11), "sales_return", 5,
                                                      applies=1),
                transfer(3, 12, "", "BLUE"), transfer(4, 13, "BLUE", ""),
                tx(5, D(2020, 1, 5), "purchase", 7, 10), tx(6, D(2020, 1, 14), "sale", 2))
    assert _applied(led) == [(2, 1, 5.0), (2, 3, -5.0), (4, 3, 5.0), (4, 5, -5.0),
                             (6, 5, 5.0), (7, 1, -5.0), (7, 8, -2.0)]
    assert _remaining(led) == [0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0]


def test_fixed_applications_beyond_a_receipts_quantity_are_an_input_error_despite_back_dating(
) -> None:
    """Two returns of 3 fixed-applied to a receipt of 5 (R43): short in any order, so the
    back-dated receipt on the key does not make it "not supported yet"; the error names the
    second return."""
    rows = [tx(1, D(2020, 1, 10), "purchase", 5, 10), tx(2, D(2020, 1, 5), "purchase", 2, 20),
            tx(3, D(2020, 1, 12), "sale", 1),
            tx(4, D(2020, 1, 13), "purchase_return", 3, applies=1),
            tx(5, D(2020, 1, 14), "purchase_return", 3, applies=1)]
    frame = pl.DataFrame(rows, schema=TRANSACTION_DTYPES, orient="row")
    with pytest.raises(InputError, match=r"transaction_no=5, column applies_to, value '1': R43: "
                                         r"the entry it applies to has less"):
        cost_ledger(frame, pl.DataFrame([ITEM], schema=ITEM_DTYPES, orient="row"),
                    pl.DataFrame(schema=PERIOD_DTYPES), Settings())


def test_a_back_dated_receipt_after_the_key_went_short() -> None:
    """The sale of the 11th takes the one unit on hand and stays open for one (R44); the
    receipt of the 12th closes it and keeps 2 on hand; the receipt back-dated to the 5th then
    jumps them (R41): the next sale takes it."""
    led = _both(tx(1, D(2020, 1, 10), "purchase", 1, 10), tx(2, D(2020, 1, 11), "sale", 2),
                tx(3, D(2020, 1, 12), "purchase", 3, 12), tx(4, D(2020, 1, 5), "purchase", 1, 5),
                tx(5, D(2020, 1, 13), "sale", 1))
    assert _applied(led) == [(1, 2, -1.0), (3, 2, -1.0), (4, 5, -1.0)]
    assert _remaining(led) == [0.0, 0.0, 2.0, 0.0, 0.0]


def test_open_outbounds_are_closed_by_posting_date() -> None:
    """Two sales into an empty key, the second back-dated before the first: the first receipt
    closes the earlier-dated one (R44 takes the open outbounds in R41's order), the second
    receipt the other."""
    led = _both(tx(1, D(2020, 1, 10), "sale", 2), tx(2, D(2020, 1, 5), "sale", 1),
                tx(3, D(2020, 1, 12), "purchase", 1, 10), tx(4, D(2020, 1, 13), "purchase", 3, 20))
    assert _applied(led) == [(3, 2, -1.0), (4, 1, -2.0)]
    assert led.item_ledger_entries.sort("entry_no")["cost_amount_actual"].to_list() == [
        -40.0, -10.0, 10.0, 60.0]


def test_a_partly_closed_sale_is_split_around_the_back_dated_one() -> None:
    """Short side, mirror of the split on hand: the sale of the 10th is partly closed when the
    one of the 5th is posted; the next receipt closes the 5th's before the rest of the 10th's."""
    led = _both(tx(1, D(2020, 1, 10), "sale", 5), tx(2, D(2020, 1, 11), "purchase", 2, 10),
                tx(3, D(2020, 1, 5), "sale", 2), tx(4, D(2020, 1, 12), "purchase", 4, 20),
                tx(5, D(2020, 1, 13), "sale", 1), tx(6, D(2020, 1, 14), "purchase", 3, 30))
    assert _applied(led) == [(2, 1, -2.0), (4, 1, -2.0), (4, 3, -2.0), (6, 1, -1.0),
                             (6, 5, -1.0)]


def test_every_fifo_key_with_a_back_dated_entry_is_reordered() -> None:
    """All four keys have a back-dated receipt; the second goes negative (-1), the third holds
    a sales return on hand while short (R45: both sides open at once): both are reordered as
    well, and so is the fourth, with a to-leg passing over an open outbound (R44a). A fifth, a
    LIFO key, is taken by posting date in `lifo_dates.py`."""
    flow = pl.DataFrame({
        "key_id": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5],
        "entry_no": list(range(1, 15)), "transaction_no": list(range(1, 15)),
        "inbound": [True, True, False, True, False, True, False, True, True,
                    False, True, True, True, True],
        "posting_date": [D(2020, 1, 9), D(2020, 1, 5), D(2020, 1, 10),
                         D(2020, 1, 9), D(2020, 1, 10), D(2020, 1, 5),
                         D(2020, 1, 10), D(2020, 1, 9), D(2020, 1, 5),
                         D(2020, 1, 10), D(2020, 1, 9), D(2020, 1, 5),
                         D(2020, 1, 9), D(2020, 1, 5)],
        "delta": [1, 1, -2, 1, -2, 1, -1, 1, 1, -1, 1, 1, 1, 1],
        "units": [1, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        "lifo": [False] * 12 + [True, True], "passes": [False] * 10 + [True, False, False, False],
    })
    assert reorderable_keys(flow).get_column("key_id").to_list() == [1, 2, 3, 4]


def test_a_back_dated_receipt_beside_a_return_on_hand_while_short() -> None:
    """R45 with R41: the sale of 3 goes short; its return (applies_to) closes nothing and is on
    hand beside it (R45). A receipt of 5 back-dated to the 5th closes the sale and leaves 2 on
    hand, dated before the return: the sale of the 20th takes them first (R41), not the
    return's units as entry order would; the sale of the 21st takes 2 of the return's 3."""
    led = _both(tx(1, D(2020, 1, 10), "sale", 3),
                {**tx(2, D(2020, 1, 11), "sales_return", 3), "applies_to": 1},
                tx(3, D(2020, 1, 5), "purchase", 5, 20),
                tx(4, D(2020, 1, 20), "sale", 2),
                tx(5, D(2020, 1, 21), "sale", 2))
    assert _applied(led) == [(2, 1, 3.0), (2, 5, -2.0), (3, 1, -3.0), (3, 4, -2.0)]
    assert _remaining(led) == [0.0, 1.0, 0.0, 0.0, 0.0]


@st.composite
def stocked_histories(draw, max_transactions: int = 40, fixed: bool = False,
                      short: bool = False, overdraw: bool = False,
                      methods: tuple[str, ...] = ("FIFO", "AVERAGE", "STANDARD")) -> History:
    """Items of `methods` (FIFO, AVERAGE, STANDARD, LIFO) whose keys never go negative (a
    decrease or transfer takes at most the stock on hand in the reference's book), one row in
    four back-dated by up to three weeks: back-dated receipts jump the receipts still on hand
    (R41). `fixed` adds purchase returns fixed-applied to a receipt with enough remaining
    quantity (R43); `short` lets sales and negative adjustments take more than is on hand, so
    keys go negative and back-dated sales meet open ones (R44) while transfers still need stock
    (R46). `overdraw` lets a fixed return name any earlier receipt of its key for up to its
    quantity: the history ends with the first row the reference refuses (R43), `invalid`."""
    items = [ITEM | {"item_no": f"ITEM{k}", "costing_method": method,
                     "standard_cost": 12.5 if method == "STANDARD" else None}
             for k, method in enumerate(draw(st.lists(
                 st.sampled_from(methods), min_size=1, max_size=2)), 1)]
    cfg = Settings(average_cost_period=draw(st.sampled_from(["day", "week", "month"])),
                   average_cost_calc_type=draw(st.sampled_from(["item", "item_location_variant"])))
    book = new_book(items, cfg, [])
    rows: list[dict] = []
    date = START
    for tx_no in range(1, draw(st.integers(1, max_transactions)) + 1):
        date += dt.timedelta(days=draw(st.sampled_from([0, 1, 2, 5])))
        posted = date - dt.timedelta(days=draw(st.integers(1, 21))) if draw(
            st.integers(0, 3)) == 0 else date
        item = draw(st.sampled_from(items))["item_no"]
        loc = draw(st.sampled_from(["", "BLUE"]))
        on_hand = float(sum(e.remaining_quantity for e in book.entries
                            if e.inbound and e.key == (item, loc, "")))
        kind = draw(st.sampled_from(["purchase", "purchase", "purchase_receipt",
                                     "positive_adjustment", "sale", "sale",
                                     "negative_adjustment", "transfer"]
                                    + ["purchase_return"] * fixed))
        qty = draw(quantities)
        if kind in ("transfer", "purchase_return") or (
                kind in ("sale", "negative_adjustment") and not short):
            if on_hand <= 0:
                continue
            qty = min(qty, on_hand)
        row = tx(tx_no, posted, kind, qty, item=item, loc=loc)
        if kind in ("purchase", "purchase_receipt", "positive_adjustment"):
            row["unit_cost"] = draw(unit_costs)
        if kind == "transfer":
            row["to_location_code"] = "BLUE" if loc == "" else ""
        if kind == "purchase_return":
            row["applies_to"] = _overdrawn_inbound(draw, book, row) if overdraw else (
                _fixed_inbound(draw, book, row))
            if row["applies_to"] is None:
                continue
        rows.append(row)
        try:
            post_transaction(book, row)
        except InputError:
            return replace(_history(rows, items, cfg, []), invalid=True)
    return _history(rows, items, cfg, [])


def _overdrawn_inbound(draw, book, row: dict) -> int | None:
    """Any earlier receipt of the row's key; the row's quantity becomes up to its quantity."""
    key = (row["item_no"], row["location_code"], row["variant_code"])
    receipts = [e for e in book.entries if e.inbound and e.key == key]
    if not receipts:
        return None
    receipt = draw(st.sampled_from(receipts))
    row["quantity"] = float(draw(st.integers(1, max(1, int(receipt.quantity)))))
    return receipt.transaction_no


@pytest.mark.slow
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(stocked_histories())
def test_back_dated_receipts_on_stocked_keys_match_the_reference(h: History) -> None:
    """R41 with back-dating on keys that never go negative: nothing refused, every entry,
    application and value entry as the reference has it."""
    book = _compare_wide(h, refusals=())
    assert book is not None
    inbound = [e for e in book.entries if e.inbound]
    event("a receipt posted with an earlier date than an earlier receipt of its key" if any(
        a.key == b.key and a.entry_no < b.entry_no and b.posting_date < a.posting_date
        for a in inbound for b in inbound) else "no back-dated receipt")


@pytest.mark.slow
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(stocked_histories(short=True))
def test_back_dated_entries_on_keys_that_go_short_match_the_reference(h: History) -> None:
    """R41 and R44 with back-dating on keys that go negative: open inbounds taken and open
    outbounds closed by posting date; nothing refused, every entry as the reference has it."""
    book = _compare_wide(h, refusals=())
    assert book is not None
    event("a key went short" if any(e.remaining_quantity < 0 for e in book.entries)
          or any(a.inbound_item_entry_no > a.outbound_item_entry_no
                 for a in book.applications if a.outbound_item_entry_no is not None
                 and not a.cost_application) else "no key went short")


@pytest.mark.slow
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.tuples(st.booleans(), st.booleans()).flatmap(
    lambda f: stocked_histories(short=f[0], fixed=f[1], methods=("LIFO", "LIFO", "FIFO"))))
def test_back_dated_entries_on_lifo_keys_match_or_are_refused(h: History) -> None:
    """R42 and R44 with back-dating on LIFO keys (stocked or short, with fixed returns or not):
    refused only by name where the reference passes over an outbound (R44a); everything else
    matches the reference entry by entry."""
    book = _compare_wide(h, refusals=())
    lifo_back = [e for e in (book.entries if book else []) if book.method(e.item_no) == "LIFO"
                 and any(f.key == e.key and f.entry_no < e.entry_no
                         and e.posting_date < f.posting_date for f in book.entries)]
    event("refused" if book is None else
          "compared, with a back-dated LIFO entry" if lifo_back else "compared")


@pytest.mark.slow
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.booleans().flatmap(lambda short: stocked_histories(fixed=True, short=short)))
def test_back_dated_receipts_with_fixed_returns_match_the_reference(h: History) -> None:
    """With fixed-applied purchase returns (R43), stocked or short: reserved receipts in the
    blocks the back-dating reorders keep their reserved units; every entry as the reference has
    it, never refused (an AVERAGE pool feeding its own cost back leaves its item unsettled,
    R60, as in the reference)."""
    _compare_wide(h, refusals=())


@pytest.mark.slow
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.booleans().flatmap(
    lambda short: stocked_histories(fixed=True, short=short, overdraw=True)))
def test_fixed_returns_beyond_what_bc_leaves_are_input_errors(h: History) -> None:
    """R43, R160 with back-dating: a fixed return may name any receipt of its key for up to its
    quantity. Where BC's application by posting date has left less than that (the reference
    refuses the row), the stage raises the input error R43; on keys that never go short never
    "not supported yet" (on keys that do, counting the units the fixed returns reserve, a
    pass-over the model cannot apply, R44a, may be named first). Otherwise it matches the
    reference."""
    if not h.invalid:
        assert _compare_wide(h, refusals=()) is not None
        event("valid")
        return
    with pytest.raises(InputError) as caught:
        cost_ledger(h.transactions, h.items, h.inventory_periods, h.settings)
    if isinstance(caught.value, NotSupportedYet):
        assert _went_short(h), str(caught.value)
        assert "(R44a)" in str(caught.value), str(caught.value)
        event("invalid, refused on a key that went short")
        return
    assert "R43" in str(caught.value)
    event("invalid: R43")


def _went_short(h: History) -> bool:
    """Some key's quantity went below zero (the rows in posting order, to-legs included), the
    units a later fixed return takes counted out from its receipt on (reserved: an invalid
    fixed return can leave the key short of what is not reserved)."""
    stock: dict[tuple, Fraction] = {}  # exact: 0.3 + 0.3 + 0.3 - 0.9 is not 0 in floats
    reserved: dict[int, Fraction] = {}
    for row in h.transaction_rows:
        if row["type"] == "purchase_return" and row["applies_to"] is not None:
            reserved[row["applies_to"]] = (reserved.get(row["applies_to"], ZERO)
                                           + exact(row["quantity"]))
    for row in h.transaction_rows:
        sign = 1 if row["type"] in ("purchase", "purchase_receipt", "positive_adjustment") else -1
        key = (row["item_no"], row["location_code"])
        if row["type"] == "purchase_return" and row["applies_to"] is not None:
            sign = 0  # taken from stock when its receipt was posted
        mine = reserved.get(row["transaction_no"], ZERO)  # of its inbound entry (a to-leg's)
        quantity = exact(row["quantity"]) - (mine if sign > 0 else ZERO)
        stock[key] = stock.get(key, ZERO) + sign * quantity
        if row["type"] == "transfer":
            to = (row["item_no"], row["to_location_code"])
            stock[to] = stock.get(to, ZERO) + exact(row["quantity"]) - mine
        if stock[key] < 0:
            return True
    return False


def test_a_back_dated_receipt_of_an_average_item_reflows_the_later_periods() -> None:
    """R103 (issue 5): a receipt posted after March's first sale but dated in January, while
    February's receipt is on hand. It enters January's pool, so March's unit cost is
    (80 + 20) / 4 = 25.00 for both sales. Applications by posting date (R41): the second sale
    takes the January receipt, so it was posted at 40.00 a unit (R51): adjustments -15.00 on the
    first sale (posted at 10.00) and +30.00 on the second (posted at 80.00)."""
    led = _both(tx(1, D(2020, 2, 10), "purchase", 2, 10), tx(2, D(2020, 3, 5), "sale", 1),
                tx(3, D(2020, 1, 20), "purchase", 2, 40), tx(4, D(2020, 3, 20), "sale", 2),
                method="AVERAGE", settings=Settings(average_cost_period="month"))
    entries = led.item_ledger_entries.sort("entry_no")
    assert entries["cost_amount_actual"].to_list() == [20.0, -25.0, 80.0, -50.0]
    assert _remaining(led) == [1.0, 0.0, 0.0, 0.0]
    assert _applied(led) == [(1, 2, -1.0), (3, 4, -2.0)]
    adjustments = led.value_entries.filter(pl.col("adjustment")).select(
        "item_ledger_entry_no", "cost_amount_actual").rows()
    assert adjustments == [(2, -15.0), (4, 30.0)]


@pytest.mark.parametrize("method", ["FIFO", "LIFO"])
def test_a_back_dating_that_reorders_many_receipts_at_once(method: str) -> None:
    """300 receipts, each dated a day before the one posted before it, and sales of 150 and
    100: one block of 300 receipts whose priority order is the reverse of entry order (FIFO:
    300 runs of one receipt; LIFO: one run). FIFO sells the earliest-dated receipts, the last
    posted; LIFO the latest-dated, the first posted; as the reference does."""
    rows = [tx(k, D(2021, 1, 1) - dt.timedelta(days=k), "purchase", 1, k) for k in range(1, 301)]
    rows += [tx(301, D(2021, 1, 2), "sale", 150), tx(302, D(2021, 1, 3), "sale", 100)]
    led = _both(*rows, method=method)
    sold = range(151, 301) if method == "FIFO" else range(1, 151)
    then = range(51, 151) if method == "FIFO" else range(151, 251)
    assert _applied(led) == sorted([(k, 301, -1.0) for k in sold] + [(k, 302, -1.0) for k in then])


@st.composite
def _parking(draw):
    """Blocks of supply entries 1..n (p rising with the entry number), any priority order."""
    blocks = []
    for block in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 12))
        p = sorted(draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)))
        a = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
        rank = draw(st.permutations(range(n)))
        blocks.append((block, draw(st.integers(0, 40)), [
            {"block": block, "r": rank[i], "supply": i + 1, "a": a[i], "p": p[i]}
            for i in range(n)]))
    return blocks


@pytest.mark.parametrize("park", [fifo_park, lifo_park], ids=["fifo", "lifo"])
@settings(max_examples=300, deadline=None)
@given(_parking())
def test_parking_by_runs_is_first_fit_in_priority_order(park, blocks) -> None:
    """Both parkers (runs of rising or falling entry numbers, put together by halves) against
    first-fit unit by unit: each entry, by rank, takes the first free units at or after its
    `p`."""

    want = set()
    for block, v, cars in blocks:
        taken = [False] * v
        for car in sorted(cars, key=lambda c: c["r"]):
            need = car["a"]
            for x in range(car["p"], v):
                if need == 0:
                    break
                if not taken[x]:
                    taken[x], need = True, need - 1
                    want.add((block, car["supply"], x))
    cars = pl.DataFrame([c for _, _, cs in blocks for c in cs],
                        schema={"block": pl.UInt32, "r": pl.Int64, "supply": pl.Int64,
                                "a": pl.Int64, "p": pl.Int64})
    free = pl.DataFrame({"block": [b for b, _, _ in blocks], "v": [v for _, v, _ in blocks]},
                        schema={"block": pl.UInt32, "v": pl.Int64})
    got = {(b, supply, x) for b, supply, x0, units in park(cars, free).iter_rows()
           for x in range(x0, x0 + units)}
    assert got == want
