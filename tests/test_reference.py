"""The reference implementation on hand-made cases, numbers worked out by hand from costing.md."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.errors import InputError
from pipelines.settings import Settings
from tests.reference import reference_ledger
from tests.reference.cases import check_expected, read_case
from tests.shared_examples import SHARED_EXAMPLES as EXAMPLES
from tests.shared_examples import needs_shared, shared_case_names

D = dt.date
ITEM = {"item_no": "ITEM1", "description": None, "costing_method": "FIFO", "standard_cost": None,
        "indirect_cost_pct": 0.0, "overhead_rate": 0.0, "inventory_posting_group": "RESALE",
        "gen_prod_posting_group": "RETAIL"}


def tx(no: int, date: dt.date, kind: str, qty: float | None = None, cost: float | None = None, *,
       applies: int | None = None, amount: float | None = None, sales: float | None = None,
       loc: str = "", var: str = "", item: str = "ITEM1") -> dict:
    return {"transaction_no": no, "posting_date": date, "type": kind, "item_no": item,
            "location_code": loc, "to_location_code": None, "variant_code": var,
            "quantity": qty, "unit_cost": cost, "amount": amount, "sales_amount": sales,
            "applies_to": applies, "item_charge_no": "FREIGHT" if kind == "item_charge" else None,
            "document_no": f"D{no}", "gen_bus_posting_group": "DOMESTIC"}


def run(*rows: dict, items: list[dict] | None = None, settings: Settings | None = None,
        periods: list[dict] = ()) -> dict[str, pl.DataFrame]:
    return reference_ledger(list(rows), items or [ITEM], settings or Settings(), periods)


def entry(result: dict, tx_no: int) -> dict:
    return result["item_ledger_entries"].row(
        by_predicate=pl.col("transaction_no") == tx_no, named=True)


def values(result: dict, tx_no: int) -> list[tuple]:
    """(entry_type, adjustment, posting_date, valuation_date, actual) of the entry of `tx_no`."""
    e = entry(result, tx_no)["entry_no"]
    ve = result["value_entries"].filter(pl.col("item_ledger_entry_no") == e).sort("entry_no")
    return [tuple(r) for r in ve.select("entry_type", "adjustment", "posting_date",
                                        "valuation_date", "cost_amount_actual").iter_rows()]


def applications(result: dict) -> set[tuple]:
    """(row's entry, inbound, outbound, quantity, posting date) as a set (R47)."""
    return set(result["item_application_entries"].drop("cost_application").iter_rows())


# --- the public examples -------------------------------------------------------------------

@needs_shared
@pytest.mark.parametrize("case", shared_case_names())
def test_examples(case: str) -> None:
    """Every example of this slice matches its expected.json (others: not in the slice yet)."""
    transactions, items, periods, settings = read_case(EXAMPLES / case)
    try:
        result = reference_ledger(transactions.to_dicts(), items.to_dicts(), settings,
                                  periods.to_dicts())
    except NotImplementedError as exc:
        pytest.skip(f"not in the reference's slice yet: {exc}")
    expected = json.loads((EXAMPLES / case / "expected.json").read_text())
    assert check_expected(result, expected) == []


OWN_CASES = Path(__file__).parent / "cases"


@pytest.mark.parametrize("case", sorted(p.name for p in OWN_CASES.iterdir()
                                        if (p / "expected.json").is_file()))
def test_own_cases(case: str) -> None:
    """invrec's own cases (tests/cases, figures worked out by hand) hold for the reference too."""
    transactions, items, periods, settings = read_case(OWN_CASES / case)
    expected = json.loads((OWN_CASES / case / "expected.json").read_text())
    accounting = OWN_CASES / case / "accounting_periods.csv"
    accounting = (pl.read_csv(accounting, schema={"starting_date": pl.Date}).to_dicts()
                  if accounting.is_file() else [])

    def run() -> dict[str, pl.DataFrame]:
        return reference_ledger(transactions.to_dicts(), items.to_dicts(), settings,
                                periods.to_dicts(), accounting)

    if expected.get("exit_code", 0):  # invalid input: the reference refuses it too
        with pytest.raises(InputError):
            run()
        return
    assert check_expected(run(), expected) == []


@needs_shared
def test_example_checker_can_fail() -> None:
    transactions, items, periods, settings = read_case(EXAMPLES / "e13_item_charge_after_sale")
    result = reference_ledger(transactions.to_dicts(), items.to_dicts(), settings, [])
    expected = json.loads((EXAMPLES / "e13_item_charge_after_sale" / "expected.json").read_text())
    result["value_entries"] = result["value_entries"].with_columns(
        pl.when(pl.col("adjustment")).then(pl.col("posting_date") + dt.timedelta(days=1))
        .otherwise(pl.col("posting_date")).alias("posting_date"))
    assert len(check_expected(result, expected)) == 2  # the -2.00 moved off 01-15 onto 01-16


def test_e13_item_charge_after_sale() -> None:
    """R30, R71, R63, R111: the charge reaches the sale through an adjustment on the sale's date."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 15), "sale", 1),
            tx(3, D(2020, 2, 10), "item_charge", applies=1, amount=2))
    assert values(r, 1) == [("Direct Cost", False, D(2020, 1, 1), D(2020, 1, 1), 10.0),
                            ("Direct Cost", False, D(2020, 2, 10), D(2020, 1, 1), 2.0)]
    assert values(r, 2) == [("Direct Cost", False, D(2020, 1, 15), D(2020, 1, 15), -10.0),
                            ("Direct Cost", True, D(2020, 1, 15), D(2020, 1, 15), -2.0)]
    charge = r["value_entries"].row(by_predicate=pl.col("transaction_no") == 3, named=True)
    assert (charge["item_charge_no"], charge["valued_quantity"], charge["invoiced_quantity"],
            charge["item_ledger_entry_quantity"], charge["cost_per_unit"]) == (
        "FREIGHT", 1, 0, 0, 2)
    adjustment = r["value_entries"].row(by_predicate=pl.col("adjustment"), named=True)
    assert adjustment["transaction_no"] is None and adjustment["document_no"] == "D2"
    assert adjustment["applies_to_entry"] == 2 and adjustment["valued_quantity"] == -1


# --- rounding ------------------------------------------------------------------------------

def test_fifo_rounding_residual_goes_to_a_rounding_entry() -> None:
    """R2, R51, R71, R76: 3 units for 10.00 leave as 3 x 3.33; the purchase gets Rounding -0.01."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 3, 3.33333),  # round(3 * 3.33333) = 10.00
            tx(2, D(2020, 1, 2), "sale", 1), tx(3, D(2020, 1, 3), "sale", 1),
            tx(4, D(2020, 1, 4), "sale", 1))
    for sale in (2, 3, 4):
        assert entry(r, sale)["cost_amount_actual"] == -3.33
        assert len(values(r, sale)) == 1  # no adjustment: posting cost is already the target
    assert values(r, 1) == [("Direct Cost", False, D(2020, 1, 1), D(2020, 1, 1), 10.0),
                            ("Rounding", True, D(2020, 1, 1), D(2020, 1, 1), -0.01)]
    rounding = r["value_entries"].row(by_predicate=pl.col("entry_type") == "Rounding", named=True)
    assert (rounding["valued_quantity"], rounding["invoiced_quantity"], rounding["transaction_no"],
            rounding["applies_to_entry"], rounding["entry_no"]) == (3, 0, None, 1, 5)
    assert r["item_ledger_entries"]["cost_amount_actual"].sum() == pytest.approx(0, abs=1e-9)


def test_no_rounding_entry_while_the_inbound_is_open() -> None:
    """R76 needs remaining quantity 0: two of three units sold, no Rounding yet."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 3, 3.33333), tx(2, D(2020, 1, 2), "sale", 2))
    assert entry(r, 2)["cost_amount_actual"] == -6.67  # round(2 * 10/3) = round(6.666..)
    assert values(r, 1) == [("Direct Cost", False, D(2020, 1, 1), D(2020, 1, 1), 10.0)]


def test_half_cent_ties_round_away_from_zero_on_decimals() -> None:
    """R2: 6.67/2 = 3.335 is a decimal tie and rounds to 3.34 (float64 would give 3.33)."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 2, 3.335), tx(2, D(2020, 1, 2), "sale", 1))
    assert entry(r, 1)["cost_amount_actual"] == 6.67
    assert entry(r, 2)["cost_amount_actual"] == -3.34  # round(1 * 6.67 / 2) = round(3.335)


def test_indirect_cost_and_overhead() -> None:
    """R21: Direct round(q*c) and Indirect round(q*(c*pct/100 + overhead)); both in B_i (R70)."""
    item = ITEM | {"indirect_cost_pct": 10.0, "overhead_rate": 0.5}
    r = run(tx(1, D(2020, 1, 1), "purchase", 3, 10), tx(2, D(2020, 1, 2), "sale", 1),
            items=[item])
    ve = r["value_entries"].filter(pl.col("transaction_no") == 1)
    assert ve.select("entry_type", "cost_amount_actual", "invoiced_quantity",
                     "valued_quantity", "item_ledger_entry_quantity").rows() == [
        ("Direct Cost", 30.0, 3.0, 3.0, 3.0), ("Indirect Cost", 4.5, 0.0, 3.0, 0.0)]
    assert entry(r, 2)["cost_amount_actual"] == -11.5  # round(1 * 34.50 / 3)


def test_no_indirect_cost_on_positive_adjustments() -> None:
    """R28: a positive adjustment gets only its Direct Cost entry."""
    item = ITEM | {"indirect_cost_pct": 10.0, "overhead_rate": 0.5}
    r = run(tx(1, D(2020, 1, 1), "positive_adjustment", 3, 10), items=[item])
    assert values(r, 1) == [("Direct Cost", False, D(2020, 1, 1), D(2020, 1, 1), 30.0)]


# --- negative inventory --------------------------------------------------------------------

def test_negative_inventory_closed_by_the_next_purchase() -> None:
    """R44 example; R51 u0 for the open part; R72 target; R63 dated on the sale; R92, R47."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 2, 4), tx(2, D(2020, 1, 10), "sale", 5, sales=100),
            tx(3, D(2020, 1, 20), "purchase", 10, 6))
    sale, purchase = entry(r, 2), entry(r, 3)
    assert (sale["remaining_quantity"], sale["open"]) == (0, False)
    assert (purchase["remaining_quantity"], purchase["open"]) == (7, True)
    # at posting: 2 x 4.00 applied + 3 unapplied at u0 = 4.00 (last earlier inbound) = 20.00;
    # target: 2 x 4.00 + 3 x 6.00 = 26.00 -> adjustment -6.00 on the sale's date, valued 01-20
    assert values(r, 2) == [("Direct Cost", False, D(2020, 1, 10), D(2020, 1, 20), -20.0),
                            ("Direct Cost", True, D(2020, 1, 10), D(2020, 1, 20), -6.0)]
    assert sale["cost_amount_actual"] == -26.0 and sale["sales_amount_actual"] == 100
    assert applications(r) == {
        (1, 1, None, 2.0, D(2020, 1, 1)), (3, 3, None, 10.0, D(2020, 1, 20)),
        (2, 1, 2, -2.0, D(2020, 1, 10)),
        (2, 3, 2, -3.0, D(2020, 1, 20)),  # made by the later purchase, recorded under the sale
    }


def test_negative_inventory_without_any_inbound_costs_zero_and_stays_open() -> None:
    """R51: no earlier inbound, u0 = 0; R72/R170.8: the unapplied part keeps that cost."""
    r = run(tx(1, D(2020, 1, 5), "negative_adjustment", 2))
    e = entry(r, 1)
    assert (e["remaining_quantity"], e["open"], e["cost_amount_actual"]) == (-2, True, 0.0)
    assert values(r, 1) == [("Direct Cost", False, D(2020, 1, 5), D(2020, 1, 5), 0.0)]
    assert applications(r) == set()


def test_partly_closed_outbound_keeps_posting_cost_for_the_rest() -> None:
    """R170.8: closed for 1 of 3 open units; the other 2 keep round(2 * u0)."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 1, 7), tx(2, D(2020, 1, 2), "sale", 4),
            tx(3, D(2020, 1, 3), "purchase", 1, 9))
    # posting: 7.00 + 3 x 7.00 = 28.00; target: 7.00 + 9.00 + 2 x 7.00 = 30.00
    assert values(r, 2)[1][4] == -2.0 and entry(r, 2)["remaining_quantity"] == -2


def test_open_outbounds_closed_in_posting_date_order() -> None:
    """R44 (FIFO): the inbound closes the oldest-dated open outbound first, not the first posted."""
    r = run(tx(1, D(2020, 1, 10), "sale", 2), tx(2, D(2020, 1, 5), "sale", 2),
            tx(3, D(2020, 1, 20), "purchase", 3, 5))
    assert entry(r, 2)["remaining_quantity"] == 0 and entry(r, 1)["remaining_quantity"] == -1
    assert entry(r, 2)["cost_amount_actual"] == -10.0  # 2 x 5.00
    assert entry(r, 1)["cost_amount_actual"] == -5.0  # 1 x 5.00 + 1 unapplied at u0 = 0


# --- back-dating ---------------------------------------------------------------------------

def test_back_dated_purchase_is_taken_first() -> None:
    """R41: open inbounds in (posting date, entry no) order, so a back-dated purchase goes first."""
    r = run(tx(1, D(2020, 3, 1), "purchase", 5, 10), tx(2, D(2020, 2, 1), "purchase", 5, 20),
            tx(3, D(2020, 3, 15), "sale", 3))
    assert entry(r, 3)["cost_amount_actual"] == -60.0
    assert (entry(r, 1)["remaining_quantity"], entry(r, 2)["remaining_quantity"]) == (5, 2)


def test_back_dated_sale_moves_to_the_inbound_date() -> None:
    """R41: a back-dated sale still takes the open inbounds; R92: its valuation date moves."""
    r = run(tx(1, D(2020, 3, 1), "purchase", 5, 10), tx(2, D(2020, 2, 1), "purchase", 2, 20),
            tx(3, D(2020, 1, 15), "sale", 4))
    assert values(r, 3) == [("Direct Cost", False, D(2020, 1, 15), D(2020, 3, 1), -60.0)]


# --- fixed application ---------------------------------------------------------------------

def test_fixed_application_overrides_fifo() -> None:
    """R43: applies_to takes that inbound only; R12 applies_to_entry names its entry."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 5, 10), tx(2, D(2020, 1, 2), "purchase", 5, 20),
            tx(3, D(2020, 1, 3), "negative_adjustment", 2, applies=2),
            tx(4, D(2020, 1, 4), "sale", 4))
    assert entry(r, 3)["cost_amount_actual"] == -40.0 and entry(r, 3)["applies_to_entry"] == 2
    assert entry(r, 4)["cost_amount_actual"] == -40.0 and entry(r, 4)["applies_to_entry"] is None
    assert (3, 2, 3, -2.0, D(2020, 1, 3)) in applications(r)


def test_fixed_application_needs_enough_remaining_quantity() -> None:
    """R43/R160: a fixed application beyond the inbound's remaining quantity is an input error."""
    with pytest.raises(InputError, match="applies_to"):
        run(tx(1, D(2020, 1, 1), "purchase", 2, 10), tx(2, D(2020, 1, 2), "sale", 1),
            tx(3, D(2020, 1, 3), "sale", 2, applies=1))


def test_fixed_application_to_another_location_is_an_input_error() -> None:
    with pytest.raises(InputError, match="R160"):
        run(tx(1, D(2020, 1, 1), "purchase", 2, 10, loc="BLUE"),
            tx(2, D(2020, 1, 2), "sale", 1, applies=1))


# --- dates of adjustments ------------------------------------------------------------------

def test_adjustment_moved_to_the_first_allowed_date() -> None:
    """R110/R111 example: entry of 2020-09-06, periods closed through 08-31, allow from 09-10."""
    periods = [{"ending_date": D(2020, 8, 31), "closed": True},
               {"ending_date": D(2020, 9, 30), "closed": False}]
    r = run(tx(1, D(2020, 9, 1), "purchase", 1, 10), tx(2, D(2020, 9, 6), "sale", 1),
            tx(3, D(2020, 9, 20), "item_charge", applies=1, amount=2),
            settings=Settings(allow_posting_from=D(2020, 9, 10)), periods=periods)
    # the adjustment moves, its valuation date stays the sale's (R63 copies it)
    assert values(r, 2)[1] == ("Direct Cost", True, D(2020, 9, 10), D(2020, 9, 6), -2.0)


def test_closed_period_alone_moves_to_the_day_after() -> None:
    """R110: a gap (open, then closed) counts as closed: first allowed date = 03-01."""
    periods = [{"ending_date": D(2020, 1, 31), "closed": False},
               {"ending_date": D(2020, 2, 29), "closed": True}]
    r = run(tx(1, D(2020, 1, 1), "purchase", 3, 3.33333), tx(2, D(2020, 1, 2), "sale", 3),
            tx(3, D(2020, 1, 3), "item_charge", applies=1, amount=0.01), periods=periods)
    # B = 10.01: sale at posting 10.00 (charge came later) -> adjustment -0.01 on 03-01
    assert values(r, 2)[1] == ("Direct Cost", True, D(2020, 3, 1), D(2020, 1, 2), -0.01)
    assert all(v[0] != "Rounding" for v in values(r, 1))  # one share round(3 * 10.01/3) = B
    assert entry(r, 1)["cost_amount_actual"] == 10.01


def test_adjustment_on_allowed_date_stays() -> None:
    r = run(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 15), "sale", 1),
            tx(3, D(2020, 2, 10), "item_charge", applies=1, amount=2),
            settings=Settings(allow_posting_from=D(2020, 1, 15)))
    assert values(r, 2)[1][2] == D(2020, 1, 15)


def test_rounding_entry_dated_on_first_allowed_date() -> None:
    """R76 + R111: purchase 01-01, everything before 06-01 disallowed -> Rounding on 06-01."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 3, 3.33333), tx(2, D(2020, 1, 2), "sale", 1),
            tx(3, D(2020, 1, 3), "sale", 1), tx(4, D(2020, 1, 4), "sale", 1),
            settings=Settings(allow_posting_from=D(2020, 6, 1)))
    assert values(r, 1)[1] == ("Rounding", True, D(2020, 6, 1), D(2020, 1, 1), -0.01)


# --- expected cost: receipts, shipments, invoices (R22-R25, R62, R63) ----------------------------

def ve_rows(result: dict, tx_no: int, *fields: str) -> list[tuple]:
    """`fields` of the value entries of the (first) item ledger entry of `tx_no`, in entry order."""
    e = entry(result, tx_no)["entry_no"]
    ve = result["value_entries"].filter(pl.col("item_ledger_entry_no") == e).sort("entry_no")
    return [tuple(r) for r in ve.select(fields).iter_rows()]


def test_r23_example_partial_invoices_at_different_prices() -> None:
    """R22/R23: receipt 10 @ 10.00 expected 100.00; invoices 4 @ 11.00 (44.00, -40.00) and
    6 @ 12.00 (72.00, -60.00): the entry ends at 116.00 actual, 0 expected."""
    r = run(tx(1, D(2020, 1, 1), "purchase_receipt", 10, 10),
            tx(2, D(2020, 1, 5), "purchase_invoice", 4, 11, applies=1),
            tx(3, D(2020, 1, 9), "purchase_invoice", 6, 12, applies=1))
    assert ve_rows(r, 1, "transaction_no", "posting_date", "valuation_date", "expected_cost",
                   "item_ledger_entry_quantity", "invoiced_quantity", "valued_quantity",
                   "cost_amount_actual", "cost_amount_expected") == [
        (1, D(2020, 1, 1), D(2020, 1, 1), True, 10, 0, 10, 0.0, 100.0),
        (2, D(2020, 1, 5), D(2020, 1, 1), False, 0, 4, 4, 44.0, -40.0),
        (3, D(2020, 1, 9), D(2020, 1, 1), False, 0, 6, 6, 72.0, -60.0)]
    e = entry(r, 1)
    assert (e["invoiced_quantity"], e["cost_amount_actual"], e["cost_amount_expected"]) == (
        10, 116.0, 0.0)


def test_r23_last_invoice_reverses_all_expected_cost_left() -> None:
    """R23: 3 @ 3.33333 expects 10.00; thirds reverse 3.33, 3.33, then all that is left, 3.34."""
    r = run(tx(1, D(2020, 1, 1), "purchase_receipt", 3, 3.33333),
            tx(2, D(2020, 1, 2), "purchase_invoice", 1, 4, applies=1),
            tx(3, D(2020, 1, 3), "purchase_invoice", 1, 4, applies=1),
            tx(4, D(2020, 1, 4), "purchase_invoice", 1, 4, applies=1))
    assert [x[0] for x in ve_rows(r, 1, "cost_amount_expected")] == [10.0, -3.33, -3.33, -3.34]
    assert entry(r, 1)["cost_amount_actual"] == 12.0


def test_r22_receipt_expected_cost_includes_indirect_cost_invoice_posts_it() -> None:
    """R22: expected round(q*(c*(1+pct/100) + overhead)); R23: the invoice posts Indirect Cost."""
    item = ITEM | {"indirect_cost_pct": 10.0, "overhead_rate": 0.5}
    r = run(tx(1, D(2020, 1, 1), "purchase_receipt", 2, 10),
            tx(2, D(2020, 1, 2), "purchase_invoice", 2, 10, applies=1), items=[item])
    assert ve_rows(r, 1, "entry_type", "cost_amount_actual", "cost_amount_expected") == [
        ("Direct Cost", 0.0, 23.0), ("Direct Cost", 20.0, -23.0), ("Indirect Cost", 3.0, 0.0)]


def test_sale_from_an_uninvoiced_receipt_follows_its_late_invoice() -> None:
    """R50: at posting the sale takes the receipt's expected cost; R71/R72: its target is the
    receipt's final cost, the difference an adjustment on the sale's date."""
    r = run(tx(1, D(2020, 1, 1), "purchase_receipt", 2, 10), tx(2, D(2020, 1, 2), "sale", 1),
            tx(3, D(2020, 1, 9), "purchase_invoice", 2, 11, applies=1))
    assert values(r, 2) == [("Direct Cost", False, D(2020, 1, 2), D(2020, 1, 2), -10.0),
                            ("Direct Cost", True, D(2020, 1, 2), D(2020, 1, 2), -1.0)]


def test_r62_example_shipment_with_one_invoice() -> None:
    """R62: a shipment of 10, one invoice of 4, target -120.00: -48.00 actual on the invoice
    entry, -72.00 expected. R25: the invoice turned -40.00 expected into actual; R63: the actual
    part adjusts the invoice entry (its date), the expected part the shipment's first entry."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 10, 10), tx(2, D(2020, 1, 2), "sales_shipment", 10),
            tx(3, D(2020, 1, 5), "sales_invoice", 4, applies=2, sales=70),
            tx(4, D(2020, 1, 10), "item_charge", applies=1, amount=20))
    assert ve_rows(r, 2, "transaction_no", "posting_date", "expected_cost", "adjustment",
                   "invoiced_quantity", "valued_quantity", "cost_amount_actual",
                   "cost_amount_expected", "sales_amount_actual", "applies_to_entry") == [
        (2, D(2020, 1, 2), True, False, 0, -10, 0.0, -100.0, 0.0, None),
        (3, D(2020, 1, 5), False, False, -4, -4, -40.0, 40.0, 70.0, None),
        (None, D(2020, 1, 2), True, True, 0, -10, 0.0, -12.0, 0.0, 2),  # on the shipment (VE 2)
        (None, D(2020, 1, 5), False, True, 0, -4, -8.0, 0.0, 0.0, 3)]  # on the invoice (VE 3)
    e = entry(r, 2)
    assert (e["invoiced_quantity"], e["cost_amount_actual"], e["cost_amount_expected"],
            e["sales_amount_actual"]) == (-4, -48.0, -72.0, 70.0)


def test_shipment_completely_invoiced_ends_all_actual() -> None:
    """R25/R62: invoices 1 and 2 of a shipment of 3 at 10.00/3: the last one reverses all that is
    left; the target is split 3.33 / 6.67 over the invoice entries, nothing expected."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 3, 3.33333),
            tx(2, D(2020, 1, 2), "sales_shipment", 3),
            tx(3, D(2020, 1, 3), "sales_invoice", 1, applies=2),
            tx(4, D(2020, 1, 4), "sales_invoice", 2, applies=2))
    assert ve_rows(r, 2, "cost_amount_actual", "cost_amount_expected") == [
        (0.0, -10.0), (-3.33, 3.33), (-6.67, 6.67)]
    assert (entry(r, 2)["cost_amount_actual"], entry(r, 2)["cost_amount_expected"]) == (-10, 0)


# --- transfers (R11, R29, R46, R47, R73, R92) ----------------------------------------------------

def transfer(no: int, date: dt.date, qty: float, frm: str, to: str, **kw) -> dict:
    return tx(no, date, "transfer", qty, loc=frm, **kw) | {"to_location_code": to}


def test_transfer_chain_receives_a_late_invoice() -> None:
    """R73: receipt 10 @ 10.00 moved "" -> BLUE (10) -> RED (4) and sold; the invoice at 12.00
    arrives last. Every leg ends at the invoiced cost, each adjustment on its own leg's date;
    R92: a to-leg takes its from-leg's valuation date."""
    r = run(tx(1, D(2020, 1, 1), "purchase_receipt", 10, 10),
            transfer(2, D(2020, 1, 2), 10, "", "BLUE"),
            transfer(3, D(2020, 1, 3), 4, "BLUE", "RED"),
            tx(4, D(2020, 1, 4), "sale", 4, loc="RED"),
            tx(5, D(2020, 1, 10), "purchase_invoice", 10, 12, applies=1))
    ile = r["item_ledger_entries"].sort("entry_no")
    assert ile.select("transaction_no", "entry_type", "location_code", "quantity",
                      "remaining_quantity", "cost_amount_actual",
                      "cost_amount_expected").rows() == [
        (1, "Purchase", "", 10, 0, 120.0, 0.0), (2, "Transfer", "", -10, 0, -120.0, 0.0),
        (2, "Transfer", "BLUE", 10, 6, 120.0, 0.0), (3, "Transfer", "BLUE", -4, 0, -48.0, 0.0),
        (3, "Transfer", "RED", 4, 0, 48.0, 0.0), (4, "Sale", "RED", -4, 0, -48.0, 0.0)]
    ve = r["value_entries"].sort("entry_no")
    assert ve.filter(pl.col("adjustment")).select(
        "item_ledger_entry_no", "posting_date", "valuation_date", "cost_amount_actual").rows() == [
        (2, D(2020, 1, 2), D(2020, 1, 2), -20.0), (3, D(2020, 1, 2), D(2020, 1, 2), 20.0),
        (4, D(2020, 1, 3), D(2020, 1, 3), -8.0), (5, D(2020, 1, 3), D(2020, 1, 3), 8.0),
        (6, D(2020, 1, 4), D(2020, 1, 4), -8.0)]
    # R29 at posting the to-leg carries +C of its from-leg (the receipt's expected cost then)
    assert ve.filter(pl.col("transaction_no") == 2)["cost_amount_actual"].to_list() == [-100, 100]
    assert {(2, 1, 2, -10.0, D(2020, 1, 2), False), (3, 3, 2, 10.0, D(2020, 1, 2), True),
            (5, 5, 4, 4.0, D(2020, 1, 3), True)} <= set(
        r["item_application_entries"].iter_rows())


def test_transfer_there_and_back_keeps_cost_and_closes_negative_inventory() -> None:
    """R44: a to-leg closes open outbounds at its destination like any inbound; R73 chains back."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 2, 7.5), tx(2, D(2020, 1, 2), "sale", 1, loc="BLUE"),
            transfer(3, D(2020, 1, 3), 2, "", "BLUE"), transfer(4, D(2020, 1, 4), 1, "BLUE", ""),
            tx(5, D(2020, 1, 5), "item_charge", applies=1, amount=1))
    # sale 2 at BLUE: open, u0 = 0 -> 0.00 at posting; closed by the to-leg (tx 3) -> -8.00
    assert entry(r, 2)["remaining_quantity"] == 0 and entry(r, 2)["cost_amount_actual"] == -8.0
    assert values(r, 2)[0][3] == D(2020, 1, 3)  # R92: valued when the to-leg closed it
    back = r["item_ledger_entries"].filter((pl.col("transaction_no") == 4)
                                           & (pl.col("quantity") > 0)).row(0, named=True)
    assert (back["location_code"], back["cost_amount_actual"]) == ("", 8.0)


# --- sales returns (R26, R45, R52, R74) ----------------------------------------------------------

def test_returns_follow_their_sale_s_later_adjustment() -> None:
    """R52: two returns of 1 carry round(20.00*1/2) each; a charge of 3.01 brings the sale to
    -23.01; R74: the returns get the cumulative split 11.51 (round(11.505)) and 11.50. R45: the
    returned units are open for a later sale, which takes the first return's final cost."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 2, 10), tx(2, D(2020, 1, 2), "sale", 2),
            tx(3, D(2020, 1, 3), "sales_return", 1, applies=2, sales=15),
            tx(4, D(2020, 1, 4), "sales_return", 1, applies=2),
            tx(5, D(2020, 1, 5), "item_charge", applies=1, amount=3.01),
            tx(6, D(2020, 1, 6), "sale", 1))
    assert values(r, 3) == [("Direct Cost", False, D(2020, 1, 3), D(2020, 1, 3), 10.0),
                            ("Direct Cost", True, D(2020, 1, 3), D(2020, 1, 3), 1.51)]
    assert values(r, 4) == [("Direct Cost", False, D(2020, 1, 4), D(2020, 1, 4), 10.0),
                            ("Direct Cost", True, D(2020, 1, 4), D(2020, 1, 4), 1.5)]
    assert entry(r, 2)["cost_amount_actual"] == -23.01  # never receives cost from its returns
    assert values(r, 6) == [("Direct Cost", False, D(2020, 1, 6), D(2020, 1, 6), -10.0),
                            ("Direct Cost", True, D(2020, 1, 6), D(2020, 1, 6), -1.51)]
    assert (entry(r, 3)["remaining_quantity"], entry(r, 4)["remaining_quantity"]) == (0, 1)
    assert (entry(r, 3)["applies_to_entry"], entry(r, 3)["sales_amount_actual"]) == (2, -15.0)
    assert {(3, 3, 2, 1.0, D(2020, 1, 3), True), (4, 4, 2, 1.0, D(2020, 1, 4), True),
            (5, 3, 5, -1.0, D(2020, 1, 6), False)} <= set(
        r["item_application_entries"].iter_rows())


def test_return_of_a_shipment_carries_its_expected_cost() -> None:
    """R52: a return of a shipment carries its value as known then (expected cost)."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 3, 10), tx(2, D(2020, 1, 2), "sales_shipment", 3),
            tx(3, D(2020, 1, 3), "sales_return", 1, applies=2))
    assert values(r, 3) == [("Direct Cost", False, D(2020, 1, 3), D(2020, 1, 3), 10.0)]


def test_return_without_applies_to_is_a_cost_source() -> None:
    """R26: at unit_cost, closes open outbounds (R44), with its own quantity row (R47)."""
    r = run(tx(1, D(2020, 1, 1), "sale", 2),
            tx(2, D(2020, 1, 2), "sales_return", 2, 4.5, sales=30))
    assert entry(r, 2)["cost_amount_actual"] == 9.0 and entry(r, 1)["cost_amount_actual"] == -9.0
    assert entry(r, 2)["sales_amount_actual"] == -30.0
    assert (2, 2, None, 2.0, D(2020, 1, 2)) in applications(r)


def test_r45_return_into_negative_inventory_closes_nothing() -> None:
    """R45 (BC's known issue): a sale into negative inventory reversed by its return: both open."""
    r = run(tx(1, D(2020, 1, 1), "sale", 5), tx(2, D(2020, 1, 2), "sales_return", 5, applies=1))
    assert (entry(r, 1)["remaining_quantity"], entry(r, 2)["remaining_quantity"]) == (-5, 5)


def test_r44a_example_the_to_leg_coming_back_passes_over_the_sale() -> None:
    """R44a: a sale of 6 with 1 on hand (5 open at u0 = 10.00), its return of 5, the returned 5
    to BLUE and back: the to-leg coming back is not applied to the sale, which stays open."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 2), "sale", 6),
            tx(3, D(2020, 1, 3), "sales_return", 5, applies=2),
            transfer(4, D(2020, 1, 4), 5, "", "BLUE"), transfer(5, D(2020, 1, 5), 5, "BLUE", ""))
    ile = r["item_ledger_entries"].sort("entry_no")
    assert ile.select("remaining_quantity", "cost_amount_actual").rows() == [
        (0, 10.0), (-5, -60.0), (0, 50.0), (0, -50.0), (0, 50.0), (0, -50.0), (5, 50.0)]


# --- STANDARD and SPECIFIC items (R24, R30, R77, R170.7) -----------------------------------------

STANDARD_ITEM = ITEM | {"costing_method": "STANDARD", "standard_cost": 10.0,
                        "indirect_cost_pct": 10.0}


def test_standard_variance_on_purchases_invoices_and_charges() -> None:
    """R24: increases at the standard cost 10.00; the price differences go to Variance."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 5, 12),
            tx(2, D(2020, 1, 2), "purchase_receipt", 4, 11),
            tx(3, D(2020, 1, 5), "purchase_invoice", 4, 11.5, applies=2),
            tx(4, D(2020, 1, 6), "item_charge", applies=2, amount=3),
            tx(5, D(2020, 1, 7), "positive_adjustment", 2, 99),
            tx(6, D(2020, 1, 8), "sale", 8), items=[STANDARD_ITEM])
    # purchase: D 60.00, I round(5*1.2) = 6.00, Variance 50.00 - 66.00
    assert ve_rows(r, 1, "entry_type", "cost_amount_actual", "valued_quantity",
                   "invoiced_quantity") == [
        ("Direct Cost", 60.0, 5, 5), ("Indirect Cost", 6.0, 5, 0), ("Variance", -16.0, 5, 0)]
    # receipt at standard (price and indirect ignored); the invoice's variance is against the 40.00
    # it reverses: 40 - 46 - 4.60; the charge adds Variance -3.00 (R30)
    assert ve_rows(r, 2, "transaction_no", "entry_type", "cost_amount_actual",
                   "cost_amount_expected") == [
        (2, "Direct Cost", 0.0, 40.0), (3, "Direct Cost", 46.0, -40.0),
        (3, "Indirect Cost", 4.6, 0.0), (3, "Variance", -10.6, 0.0),
        (4, "Direct Cost", 3.0, 0.0), (4, "Variance", -3.0, 0.0)]
    assert values(r, 5) == [("Direct Cost", False, D(2020, 1, 7), D(2020, 1, 7), 20.0)]
    # the sale: 5 x 10.00 from the purchase + 3 x 10.00 from the receipt, no adjustment
    assert values(r, 6) == [("Direct Cost", False, D(2020, 1, 8), D(2020, 1, 8), -80.0)]
    assert [entry(r, n)["cost_amount_actual"] for n in (1, 2, 5)] == [50.0, 40.0, 20.0]


def test_standard_unapplied_part_at_standard_cost() -> None:
    """R170.7: u0 of a STANDARD item is the standard cost, whatever the last inbound cost."""
    r = run(tx(1, D(2020, 1, 1), "positive_adjustment", 1), tx(2, D(2020, 1, 2), "sale", 3),
            tx(3, D(2020, 1, 3), "purchase", 2, 13), items=[STANDARD_ITEM])
    assert values(r, 2) == [("Direct Cost", False, D(2020, 1, 2), D(2020, 1, 3), -30.0)]
    assert entry(r, 3)["cost_amount_actual"] == 20.0  # 26.00 + 2.60 - 8.60 variance


def test_specific_outbounds_are_fixed() -> None:
    """R77: every outbound names its inbound; no automatic application, no negative inventory."""
    item = ITEM | {"costing_method": "SPECIFIC"}
    r = run(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 2), "purchase", 1, 20),
            tx(3, D(2020, 1, 3), "sale", 1, applies=2),
            transfer(4, D(2020, 1, 4), 1, "", "BLUE", applies=1),
            tx(5, D(2020, 1, 5), "purchase_return", 1, loc="BLUE", applies=4), items=[item])
    assert [entry(r, n)["cost_amount_actual"] for n in (3, 5)] == [-20.0, -10.0]
    with pytest.raises(InputError, match="R160"):
        run(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 2), "sale", 1),
            items=[item])


# --- input errors (R160) -------------------------------------------------------------------------

@pytest.mark.parametrize("rows, items", [
    pytest.param([tx(1, D(2020, 1, 1), "purchase_receipt", 2, 10),
                  tx(2, D(2020, 1, 2), "purchase_invoice", 3, 10, applies=1)], None,
                 id="invoice beyond the receipt"),
    pytest.param([tx(1, D(2020, 1, 1), "sales_shipment", 2),
                  tx(2, D(2020, 1, 2), "sales_invoice", 1, applies=1),
                  tx(3, D(2020, 1, 3), "sales_invoice", 1.5, applies=1)], None,
                 id="invoices beyond the shipment"),
    pytest.param([tx(1, D(2020, 1, 1), "sale", 2),
                  tx(2, D(2020, 1, 2), "sales_return", 1.5, applies=1),
                  tx(3, D(2020, 1, 3), "sales_return", 1, applies=1)], None,
                 id="returns beyond the sale"),
    pytest.param([tx(1, D(2020, 1, 1), "purchase", 1, 10),
                  transfer(2, D(2020, 1, 2), 2, "", "BLUE")], None, id="transfer without stock"),
    pytest.param([tx(1, D(2020, 1, 1), "purchase", 1, 10),
                  transfer(2, D(2020, 1, 2), 1, "", "")], None, id="transfer to its location"),
    pytest.param([tx(1, D(2020, 1, 1), "sale", 2),
                  tx(2, D(2020, 1, 2), "sales_return", 1, applies=1),
                  tx(3, D(2020, 1, 3), "item_charge", applies=2, amount=1)], None,
                 id="charge on a return with applies_to"),
    pytest.param([tx(1, D(2020, 1, 1), "positive_adjustment", 1),
                  tx(2, D(2020, 1, 2), "item_charge", applies=1, amount=1)], [STANDARD_ITEM],
                 id="STANDARD charge on a positive adjustment"),
    pytest.param([tx(1, D(2020, 1, 1), "purchase", 1, 10)],
                 [ITEM | {"costing_method": "STANDARD"}], id="STANDARD without standard_cost"),
    pytest.param([tx(1, D(2020, 1, 1), "purchase", 1, 10),
                  tx(2, D(2020, 1, 2), "purchase_invoice", 1, 10, applies=1)], None,
                 id="invoice of a purchase"),
])
def test_input_errors(rows: list[dict], items: list[dict] | None) -> None:
    with pytest.raises(InputError, match="R160"):
        run(*rows, items=items)


# --- scope ---------------------------------------------------------------------------------

def test_revaluation_reaches_the_later_sale_and_the_rounding_entry() -> None:
    """R80: the sale counted in r keeps its cost (r = 2); R81 with u = 10.00/3:
    A = round(2*12) - round(2*10/3) = 24.00 - 6.67 = 17.33; R83: the later-posted sale of 2 gets
    round(2*17.33/2) = 17.33 on top of round(2*10/3) = 6.67; R76: the closed purchase forwarded
    3.33 + 6.67 + 17.33 = 27.33 = 10.00 + 17.33, no Rounding entry."""
    r = run(tx(1, D(2020, 1, 1), "purchase", 3, 3.33333),
            tx(2, D(2020, 1, 10), "sale", 1),
            tx(3, D(2020, 1, 31), "revaluation", None, 12),
            tx(4, D(2020, 1, 20), "sale", 2))
    assert values(r, 1) == [("Direct Cost", False, D(2020, 1, 1), D(2020, 1, 1), 10.0),
                            ("Revaluation", False, D(2020, 1, 31), D(2020, 1, 31), 17.33)]
    assert costs(r) == [27.33, -3.33, -24.0]
    # R92: the sale posted after R but dated before it moves to R's date; the earlier one stays
    assert {v[3] for v in values(r, 4)} == {D(2020, 1, 31)}
    assert {v[3] for v in values(r, 2)} == {D(2020, 1, 10)}


def test_standard_revaluation_sets_the_standard_cost_in_force() -> None:
    """R84: a per-item revaluation to 12 sets the standard of the later purchase (variance
    round(5*12) - 55.00 = 5.00); one with applies_to does not."""
    standard = ITEM | {"costing_method": "STANDARD", "standard_cost": 10.0}
    r = run(tx(1, D(2020, 1, 1), "purchase", 10, 11),
            tx(2, D(2020, 1, 31), "revaluation", None, 12),
            tx(3, D(2020, 2, 1), "purchase", 5, 11),
            tx(4, D(2020, 2, 2), "revaluation", None, 13, applies=3),
            tx(5, D(2020, 2, 3), "purchase", 1, 11), items=[standard])
    ve = r["value_entries"].filter(pl.col("entry_type") == "Variance")
    assert ve["cost_amount_actual"].to_list() == [-10.0, 5.0, 1.0]
    assert costs(r) == [120.0, 65.0, 12.0]


def test_revaluation_input_errors() -> None:
    """R160, R170.11: not before an earlier-posted revaluation of the item; AVERAGE items on the
    last day of an average cost period."""
    with pytest.raises(InputError, match="R170.11"):
        run(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 5), "revaluation", None, 12),
            tx(3, D(2020, 1, 4), "revaluation", None, 12))
    with pytest.raises(InputError, match="R85"):
        average(tx(1, D(2020, 1, 1), "purchase", 1, 10),
                tx(2, D(2020, 1, 30), "revaluation", None, 12), average_cost_period="month")



# --- AVERAGE items (§8: R90-R103) ----------------------------------------------------------------

AVERAGE_ITEM = ITEM | {"costing_method": "AVERAGE"}


def average(*rows: dict, **settings) -> dict[str, pl.DataFrame]:
    periods = settings.pop("accounting_periods", ())
    return reference_ledger(list(rows), [AVERAGE_ITEM], Settings(**settings), [], periods)


def costs(result: dict) -> list[float]:
    return result["item_ledger_entries"].sort("entry_no")["cost_amount_actual"].to_list()


def test_average_residual_travels_with_the_running_pool() -> None:
    """R96: three decreases of one unit from 10.00 for 3 cost 3.33, 3.34 (round(6.67/2)), 3.33;
    R102: no Rounding entry; R93: valued by average, adjustments too."""
    r = average(tx(1, D(2020, 1, 1), "purchase", 3, 3.33333), tx(2, D(2020, 1, 2), "sale", 1),
                tx(3, D(2020, 1, 3), "sale", 1), tx(4, D(2020, 1, 4), "sale", 1),
                average_cost_period="month")
    assert costs(r) == [10.0, -3.33, -3.34, -3.33]
    ve = r["value_entries"].sort("entry_no")
    assert ve.filter(pl.col("entry_type") == "Rounding").height == 0
    assert ve.filter(pl.col("valued_by_average_cost"))["item_ledger_entry_no"].to_list() == [
        2, 3, 4, 3]  # the posting entries, then the adjustment of sale 3 (-3.33 -> -3.34)


def test_average_r96_example_february_decrease_before_the_receipt() -> None:
    """R96 (e10): both February decreases at -65.00, the first one posted at -40.00 (R41/R51: the
    second purchase) and adjusted by -25.00 on its own date (R63, R111), valued then (R92)."""
    r = average(tx(1, D(2023, 1, 1), "purchase", 1, 20), tx(2, D(2023, 1, 1), "purchase", 1, 40),
                tx(3, D(2023, 1, 1), "sale", 1), tx(4, D(2023, 2, 1), "sale", 1),
                tx(5, D(2023, 2, 2), "purchase", 1, 100), tx(6, D(2023, 2, 3), "sale", 1),
                average_cost_period="month")
    assert costs(r) == [20.0, 40.0, -30.0, -65.0, 100.0, -65.0]
    assert values(r, 4) == [("Direct Cost", False, D(2023, 2, 1), D(2023, 2, 1), -40.0),
                            ("Direct Cost", True, D(2023, 2, 1), D(2023, 2, 1), -25.0)]


def test_average_late_invoice_and_charge_reach_later_periods() -> None:
    """R103, R94 (expected cost counts): a receipt of 4 at 10.00 expected, sales in January and
    February, the invoice at 13.00 in March and a charge of 2.00: both sales -13.50 through
    adjustments on their own dates."""
    r = average(tx(1, D(2020, 1, 5), "purchase_receipt", 4, 10), tx(2, D(2020, 1, 20), "sale", 1),
                tx(3, D(2020, 2, 10), "sale", 1),
                tx(4, D(2020, 3, 15), "purchase_invoice", 4, 13, applies=1),
                tx(5, D(2020, 3, 16), "item_charge", applies=1, amount=2),
                average_cost_period="month")
    assert costs(r) == [54.0, -13.5, -13.5]
    made = r["value_entries"].filter(pl.col("adjustment")).sort("item_ledger_entry_no")
    assert made.select("item_ledger_entry_no", "posting_date", "cost_amount_actual").rows() == [
        (2, D(2020, 1, 20), -3.5), (3, D(2020, 2, 10), -3.5)]


def test_average_return_of_a_sale_is_added_back_in_its_period() -> None:
    """R94 item 2, R96 step 4, R98: pool 60.00 for 4; the sale of 2 -30.00; its return of 1
    comes back at 15.00 right after it; the sale of 3 takes 45.00 for 3."""
    r = average(tx(1, D(2020, 1, 1), "purchase", 2, 10), tx(2, D(2020, 1, 1), "purchase", 2, 20),
                tx(3, D(2020, 1, 10), "sale", 2),
                tx(4, D(2020, 1, 12), "sales_return", 1, applies=3),
                tx(5, D(2020, 1, 15), "sale", 3), average_cost_period="month")
    assert costs(r) == [20.0, 40.0, -30.0, 15.0, -45.0]


def test_average_fixed_applied_return_keeps_its_cost_r153() -> None:
    """R97, R153's exception: the purchase return fixed to the second purchase costs -200.00,
    not the average; nothing is open and -50.00 stays in the pool."""
    r = average(tx(1, D(2020, 1, 1), "purchase", 10, 10), tx(2, D(2020, 1, 1), "purchase", 10, 20),
                tx(3, D(2020, 1, 2), "sale", 10),
                tx(4, D(2020, 1, 3), "purchase_return", 10, applies=2))
    assert costs(r) == [100.0, 200.0, -150.0, -200.0]
    assert not r["item_ledger_entries"]["open"].any()
    assert not r["value_entries"].filter(pl.col("item_ledger_entry_no") == 4)[
        "valued_by_average_cost"].any()


def test_average_empty_pool_keeps_the_posting_cost_r102() -> None:
    """R102: the second sale meets Q = 0 and keeps round(2 * u0) = 20.00 (R51); a decrease
    larger than a positive Q is valued by the formula (3 from 10.00 for 2 -> -15.00)."""
    r = average(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 2), "sale", 1),
                tx(3, D(2020, 1, 3), "sale", 2))
    assert costs(r) == [10.0, -10.0, -20.0]
    r = average(tx(1, D(2020, 1, 1), "purchase", 2, 5), tx(2, D(2020, 1, 2), "sale", 3))
    assert costs(r) == [10.0, -15.0]


def test_average_negative_inventory_moves_to_the_closing_inbound_period() -> None:
    """R92: a sale into negative inventory is valued on the date of the purchase that closes
    it, so it falls in the purchase's period and takes its average (R96), not R102."""
    r = average(tx(1, D(2020, 1, 10), "sale", 2), tx(2, D(2020, 2, 5), "purchase", 4, 7.5),
                average_cost_period="month")
    assert costs(r) == [-15.0, 30.0]
    assert values(r, 1)[0][3] == D(2020, 2, 5)


def test_average_transfers_under_both_calc_types() -> None:
    """R99 (item): one pool, 80.00 for 4, the transfer and the sale at 20.00. R100
    (item_location_variant): BLUE 20.00 for 2 -> -10.00; RED (60.00 + 10.00)/3 -> -23.33."""
    rows = (tx(1, D(2020, 1, 1), "purchase", 2, 10, loc="BLUE"),
            tx(2, D(2020, 1, 1), "purchase", 2, 30, loc="RED"),
            tx(3, D(2020, 1, 5), "transfer", 1, loc="BLUE") | {"to_location_code": "RED"},
            tx(4, D(2020, 1, 6), "sale", 1, loc="RED"))
    assert costs(average(*rows, average_cost_period="month")) == [
        20.0, 60.0, -20.0, 20.0, -20.0]
    assert costs(average(*rows, average_cost_period="month",
                         average_cost_calc_type="item_location_variant")) == [
        20.0, 60.0, -10.0, 10.0, -23.33]


@pytest.mark.parametrize(("period", "expected"), [
    ("day", -10.0), ("week", -10.0), ("month", -25.0), ("quarter", -25.0), ("year", -25.0),
    ("accounting_period", -10.0)])
def test_average_period_kinds(period: str, expected: float) -> None:
    """R91: a purchase on Monday 2020-01-06 at 10.00 and a sale on Thursday 01-09; a purchase at
    40.00 on 01-20 joins the sale's month, quarter and year, not its day, ISO week (01-06..01-12)
    or accounting period (01-01..01-14)."""
    rows = (tx(1, D(2020, 1, 6), "purchase", 1, 10), tx(2, D(2020, 1, 9), "sale", 1),
            tx(3, D(2020, 1, 20), "purchase", 1, 40))
    r = average(*rows, average_cost_period=period,
                accounting_periods=[{"starting_date": D(2020, 1, 1)},
                                    {"starting_date": D(2020, 1, 15)}])
    assert costs(r)[1] == expected


def test_average_accounting_periods_must_cover_every_date() -> None:
    """R91, R160: a date before the first accounting period is an input error."""
    with pytest.raises(InputError, match="R160"):
        average(tx(1, D(2020, 1, 1), "purchase", 1, 10), tx(2, D(2020, 1, 2), "sale", 1),
                average_cost_period="accounting_period",
                accounting_periods=[{"starting_date": D(2020, 1, 2)}])
