"""Validation rules: schema checks (contract §2) and the input rules of R160, each on a tiny folder.

Rows are named by CSV line: the header is line 1, so transaction row k is line k + 1.
"""

from __future__ import annotations

import pytest

from pipelines.errors import InputError
from pipelines.ingest import read_input, validate_input
from pipelines.pipeline import run_pipeline
from tests._ingest_company import ITEMS, company, problems_of, tx

T = "transactions"


def check(tmp_path, *rows, **files):
    return problems_of(validate_input(company(tmp_path, *rows, **files)))


def test_valid_company_has_no_problem(tmp_path):
    rows = [
        tx(1, "purchase_receipt", qty=10, cost=10),
        tx(2, "purchase_invoice", qty=4, cost=11, applies=1),
        tx(3, "purchase_invoice", qty=6, cost=12, applies=1),
        tx(4, "sales_shipment", qty=5),
        tx(5, "sales_invoice", qty=5, applies=4),
        tx(6, "sales_return", qty=2, applies=4),
        tx(7, "item_charge", qty="", amount=2.5, applies=1),
        tx(8, "transfer", qty=1, to="BLUE"),
        tx(9, "sale", qty=1, applies=8, loc="BLUE"),
        tx(10, "revaluation", qty="", cost=12),
        tx(11, "purchase", item="SP", qty=2, cost=5),
        tx(12, "sale", item="SP", qty=1, applies=11),
        tx(13, "positive_adjustment", item="S", qty=1),  # STANDARD: no unit_cost needed
    ]
    assert check(tmp_path, *rows) == []


def test_every_problem_is_reported_at_once(tmp_path):
    rows = [tx(1, "purchase", qty=-1, cost=10, doc=""), tx(2, "sale", item="X")]
    assert check(tmp_path, *rows) == [
        (T, "2", "quantity", "-1", "must be > 0 (R170.13: except item_charge, revaluation)"),
        (T, "2", "document_no", None, "value required"),
        (T, "3", "item_no", "X", "not found in items"),
    ]


def test_values_that_are_not_their_type(tmp_path):
    rows = [tx(1, "purchase", qty='"1,5"', cost="ten", date="2020-02-30"),
            tx("x", "sale", applies="1.5")]
    assert check(tmp_path, *rows) == [
        (T, "2", "posting_date", "2020-02-30", "not a date (YYYY-MM-DD)"),
        (T, "2", "quantity", "1,5", "not a number"),
        (T, "2", "unit_cost", "ten", "not a number"),
        (T, "3", "transaction_no", "x", "not an integer"),
        (T, "3", "applies_to", "1.5", "not an integer"),
    ]


def test_schema_value_rules(tmp_path):
    rows = [tx(1, "purchase", cost=-2), tx(1, "gift", cost=1), tx(3, "item_charge", qty="",
                                                                  applies=1)]
    assert check(tmp_path, *rows) == [
        (T, "2", "transaction_no", "1", "must be unique"),
        (T, "2", "unit_cost", "-2", "must be >= 0"),
        (T, "3", "transaction_no", "1", "must be unique"),
        (T, "3", "type", "gift", "must be one of " + ", ".join(
            ["purchase", "purchase_receipt", "purchase_invoice", "purchase_return", "sale",
             "sales_shipment", "sales_invoice", "sales_return", "positive_adjustment",
             "negative_adjustment", "transfer", "item_charge", "revaluation"])),
        (T, "4", "amount", None, "required for item_charge (R30)"),
    ]


def test_quantities_are_counted_in_millionths(tmp_path):
    """A quantity with more decimals than costing counts would be rounded: an input error. One
    within float noise of a millionth is that millionth, and is costed as it."""
    rows = [tx(1, "purchase", qty="10.0000001", cost=5), tx(2, "sale", qty="0.0000004"),
            tx(3, "sale", qty="3.0999999999999996"), tx(4, "sale", qty="1.234567"),
            tx(5, "revaluation", qty="0.12345678", cost=6)]  # R170.13: its quantity unused
    rule = "more than 6 decimal places (quantities are counted in millionths)"
    assert check(tmp_path, *rows) == [(T, "2", "quantity", "10.0000001", rule),
                                      (T, "3", "quantity", "0.0000004", rule)]
    ledger = run_pipeline(read_input(company(tmp_path / "good", tx(1, "purchase", qty=10, cost=5),
                                             *rows[2:4])))["item_ledger_entries"]
    assert ledger["quantity"].to_list() == [10.0, -3.1, -1.234567]
    assert ledger["cost_amount_actual"].to_list() == [50.0, -15.5, -6.17]


def test_a_quantity_is_at_least_a_millionth_and_at_most_a_billion(tmp_path):
    """0.000000001 was taken for float noise around 0 and costed as an entry of quantity 0;
    10^13 millionths overflowed the costing's 64-bit counts (validate crashed, exit 3)."""
    rows = [tx(1, "purchase", qty="0.000000001", cost=5), tx(2, "purchase", qty="1e13", cost=5),
            tx(3, "purchase", qty="1000000000", cost=5), tx(4, "sale", qty="0.000001")]
    assert check(tmp_path, *rows) == [
        (T, "2", "quantity", "0.000000001",
         "more than 6 decimal places (quantities are counted in millionths)"),
        (T, "3", "quantity", "1e13", "must be <= 1000000000")]


def test_quantity_free_types_r170_13(tmp_path):
    rows = [tx(1, "purchase", cost=1), tx(2, "item_charge", qty="0", amount=-1, applies=1),
            tx(3, "revaluation", qty="", cost=3), tx(4, "sale", qty="")]
    assert check(tmp_path, *rows) == [
        (T, "5", "quantity", None, "must be > 0 (R170.13: except item_charge, revaluation)"),
    ]


def test_unit_cost_required_r170_13(tmp_path):
    rows = [tx(1, "purchase"), tx(2, "positive_adjustment"), tx(3, "sale"),
            tx(4, "sales_return", applies=3), tx(5, "sales_return"), tx(6, "revaluation", qty="")]
    assert check(tmp_path, *rows) == [
        (T, "2", "unit_cost", None, "required for type purchase (R170.13)"),
        (T, "3", "unit_cost", None, "required for type positive_adjustment (R170.13)"),
        (T, "6", "unit_cost", None, "required for type sales_return (R170.13)"),
        (T, "7", "unit_cost", None, "required for type revaluation (R170.13)"),
    ]


def test_items_rules(tmp_path):
    items = ITEMS + "A,dup,FOO,-1,x,,RESALE,RETAIL\nS2,,STANDARD,,,,RESALE,\n"
    assert check(tmp_path, items__csv=items) == [
        ("items", "2", "item_no", "A", "must be unique"),
        ("items", "5", "item_no", "A", "must be unique"),
        ("items", "5", "costing_method", "FOO",
         "must be one of FIFO, LIFO, AVERAGE, STANDARD, SPECIFIC"),
        ("items", "5", "standard_cost", "-1", "must be >= 0"),
        ("items", "5", "indirect_cost_pct", "x", "not a number"),
        ("items", "6", "standard_cost", None, "required for STANDARD items (R160)"),
        ("items", "6", "gen_prod_posting_group", None, "value required"),
    ]


def test_posting_setup_combinations_unique(tmp_path):
    setup = "location_code,inventory_posting_group,inventory_account,inventory_account_interim\n" \
            ",RESALE,2130,2131\n,RESALE,2140,2141\n"
    assert check(tmp_path, inventory_posting_setup__csv=setup) == [
        ("inventory_posting_setup", "2", "location_code, inventory_posting_group", ", RESALE",
         "combination must be unique"),
        ("inventory_posting_setup", "3", "location_code, inventory_posting_group", ", RESALE",
         "combination must be unique"),
    ]


def test_gl_entries_entry_no_unique_r147(tmp_path):
    gl = "entry_no,posting_date,account_no,amount,document_no,description\n" \
         "1,2020-01-01,02130,10,D1,x\n1,2020-01-01,7291,-10,D1,x\n"
    assert check(tmp_path, gl_entries__csv=gl) == [
        ("gl_entries", "2", "entry_no", "1", "must be unique"),
        ("gl_entries", "3", "entry_no", "1", "must be unique"),
    ]


def test_gl_amounts_are_multiples_of_the_amount_rounding_precision_r147(tmp_path):
    """A G/L amount finer than the precision could leave a difference no variance row explains
    (R145): two postings of 0.004 each count as zero, their month's 0.008 rounds to 0.01. Such a
    G/L was reconciled with a month's difference its variance rows did not add up to; it is an
    input error. Float noise (0.30000000000000004; a billion and a cent) is not, nor is any
    amount on an account outside the posting setups (9999), which is not reconciled (R143)."""
    gl = "entry_no,posting_date,account_no,amount,document_no,description\n" \
         "1,2020-01-01,2130,0.004,D1,x\n2,2020-01-01,2130,0.30000000000000004,D2,x\n" \
         "3,2020-01-01,7291,-28.595,D3,x\n4,2020-01-01,7291,1000000000.01,D3,x\n" \
         "5,2020-01-01,9999,1.234,D4,x\n"
    rule = "more decimals than amount_rounding_precision {} allows (R147)"
    assert check(tmp_path / "cents", gl_entries__csv=gl) == [
        ("gl_entries", "2", "amount", "0.004", rule.format("0.01")),
        ("gl_entries", "4", "amount", "-28.595", rule.format("0.01")),
    ]
    assert check(tmp_path / "tenths", gl_entries__csv=gl,
                 settings__toml="amount_rounding_precision = 0.1\n") == [
        ("gl_entries", row, "amount", value, rule.format("0.1"))
        for row, value in (("2", "0.004"), ("4", "-28.595"), ("5", "1000000000.01"))]
    assert check(tmp_path / "mills", gl_entries__csv=gl,
                 settings__toml="amount_rounding_precision = 0.001\n") == []


def test_applies_to_target_r160(tmp_path):
    rows = [
        tx(1, "purchase", cost=1),
        tx(2, "sale", applies=99),  # names no transaction
        tx(3, "sale", applies=4),  # later-posted
        tx(4, "purchase", cost=1),
        tx(5, "purchase", item="SP", cost=1),
        tx(6, "sale", applies=5),  # other item
        tx(7, "purchase", cost=1, applies=1),  # not allowed on a purchase
        tx(8, "purchase_invoice", cost=1),  # required
        tx(9, "purchase_invoice", cost=1, applies=1),  # must be a receipt
        tx(10, "sales_invoice", applies=3),  # must be a shipment
        tx(11, "sales_return", cost=1, applies=1),  # must be a sale or shipment
        tx(12, "sale", applies=3),  # an outbound may not name an outbound
    ]
    assert check(tmp_path, *rows) == [
        (T, "3", "applies_to", "99", "names no transaction (R160)"),
        (T, "4", "applies_to", "4", "must name an earlier-posted transaction (R160)"),
        (T, "7", "applies_to", "5", "names a transaction of item SP (R160)"),
        (T, "8", "applies_to", "1", "not allowed for type purchase (R10)"),
        (T, "9", "applies_to", None, "required for type purchase_invoice (R10)"),
        (T, "10", "applies_to", "1",
         "type purchase_invoice may not apply to a purchase (R10, R30, R170.1)"),
        (T, "11", "applies_to", "3",
         "type sales_invoice may not apply to a sale (R10, R30, R170.1)"),
        (T, "12", "applies_to", "1",
         "type sales_return may not apply to a purchase (R10, R30, R170.1)"),
        (T, "13", "applies_to", "3", "type sale may not apply to a sale (R10, R30, R170.1)"),
    ]


def test_outbounds_may_name_any_inbound_r170_1(tmp_path):
    rows = [
        tx(1, "purchase_receipt", cost=1, qty=5),
        tx(2, "positive_adjustment", cost=1),
        tx(3, "sale", qty=2),
        tx(4, "sales_return", applies=3),
        tx(5, "transfer", to="BLUE", applies=1),
        tx(6, "purchase_return", applies=1),
        tx(7, "negative_adjustment", applies=2),
        tx(8, "sales_shipment", applies=4),
        tx(9, "sale", loc="BLUE", applies=5),
        tx(10, "revaluation", qty="", cost=2, applies=5),
    ]
    assert check(tmp_path, *rows) == []


def test_item_charge_targets_r30(tmp_path):
    rows = [
        tx(1, "purchase", item="S", cost=1),
        tx(2, "positive_adjustment", item="S"),
        tx(3, "item_charge", item="S", qty="", amount=1, applies=1),
        tx(4, "item_charge", item="S", qty="", amount=1, applies=2),  # [ours] STANDARD
        tx(5, "purchase", cost=1, qty=3),
        tx(6, "sale"),
        tx(7, "sales_return", applies=6),
        tx(8, "item_charge", qty="", amount=1, applies=7),  # a return with applies_to
        tx(9, "item_charge", qty="", amount=1, applies=6),  # a sale
    ]
    assert check(tmp_path, *rows) == [
        (T, "5", "applies_to", "2",
         "type item_charge may not apply to a positive_adjustment (R10, R30, R170.1)"),
        (T, "9", "applies_to", "7",
         "type item_charge may not apply to a sales_return (R10, R30, R170.1)"),
        (T, "10", "applies_to", "6", "type item_charge may not apply to a sale (R10, R30, R170.1)"),
    ]


def test_invoices_never_exceed_what_is_not_invoiced_r23(tmp_path):
    rows = [
        tx(1, "purchase_receipt", qty=10, cost=10),
        tx(2, "purchase_invoice", qty=4, cost=11, applies=1),
        tx(3, "purchase_invoice", qty=7, cost=12, applies=1),  # 6 left
        tx(4, "sales_shipment", qty=2),
        tx(5, "sales_invoice", qty=2.5, applies=4),
    ]
    assert check(tmp_path, *rows) == [
        (T, "4", "quantity", "7",
         "invoices more than the 6 not yet invoiced on transaction 1 (R160)"),
        (T, "6", "quantity", "2.5",
         "invoices more than the 2 not yet invoiced on transaction 4 (R160)"),
    ]


def test_invoices_are_cumulated_in_posting_order(tmp_path):
    # the file order is not the posting order (R170.14): transaction 3 is the one over the line
    rows = [tx(3, "purchase_invoice", qty=5, cost=1, applies=1),
            tx(1, "purchase_receipt", qty=8, cost=1),
            tx(2, "purchase_invoice", qty=5, cost=1, applies=1)]
    assert check(tmp_path, *rows) == [
        (T, "2", "quantity", "5",
         "invoices more than the 3 not yet invoiced on transaction 1 (R160)"),
    ]


def test_returns_never_exceed_sold_minus_returned_r160(tmp_path):
    rows = [tx(1, "purchase", qty=10, cost=1), tx(2, "sale", qty=5),
            tx(3, "sales_return", qty=3, applies=2), tx(4, "sales_return", qty=3, applies=2),
            tx(5, "sales_return", qty=1, cost=1)]  # without applies_to: unlimited
    assert check(tmp_path, *rows) == [
        (T, "5", "quantity", "3",
         "returns more than the 2 sold and not yet returned on transaction 2 (R160)"),
    ]


def test_transfer_needs_another_location_r160(tmp_path):
    """A blank to_location_code is the blank location "", as a blank location_code is."""
    rows = [tx(1, "transfer"), tx(2, "transfer", loc="BLUE", to="BLUE"), tx(3, "transfer", to="B"),
            tx(4, "transfer", loc="BLUE")]
    assert check(tmp_path, *rows) == [
        (T, "2", "to_location_code", "", "a transfer must go to another location (R160)"),
        (T, "3", "to_location_code", "BLUE", "a transfer must go to another location (R160)"),
    ]


def test_specific_outbound_needs_applies_to_r77(tmp_path):
    rows = [tx(1, "purchase", item="SP", cost=1, qty=2), tx(2, "sale", item="SP"),
            tx(3, "negative_adjustment", item="SP", applies=1), tx(4, "transfer", item="SP",
                                                                   to="BLUE")]
    assert check(tmp_path, *rows) == [
        (T, "3", "applies_to", None, "required for an outbound of a SPECIFIC item (R77, R160)"),
        (T, "5", "applies_to", None, "required for an outbound of a SPECIFIC item (R77, R160)"),
    ]


def test_fixed_application_within_location_and_variant_r43(tmp_path):
    rows = [tx(1, "purchase", cost=1, qty=5, var="RED"), tx(2, "transfer", to="BLUE", var="RED"),
            tx(3, "sale", applies=1, loc="BLUE", var="RED"),  # purchase is at ''
            tx(4, "sale", applies=2, var="RED"),  # the transfer's inbound entry is at BLUE
            tx(5, "sale", applies=1),  # variant ''
            tx(6, "sales_return", applies=5, loc="BLUE", cost=1)]  # returns: no application key
    assert check(tmp_path, *rows) == [
        (T, "4", "applies_to", "1", "applies to an entry at location '', not 'BLUE' (R43)"),
        (T, "5", "applies_to", "2", "applies to an entry at location 'BLUE', not '' (R43)"),
        (T, "6", "applies_to", "1", "applies to an entry of variant 'RED', not '' (R43)"),
    ]


def test_fail_mode_raises_with_every_problem(tmp_path):
    folder = company(tmp_path, tx(1, "sale", item="X", doc=""))
    with pytest.raises(InputError) as err:
        read_input(folder)
    assert problems_of(err.value.problems) == [
        (T, "2", "item_no", "X", "not found in items"),
        (T, "2", "document_no", None, "value required"),
    ]
    assert err.value.frame().height == 2


AVG_ITEMS = ITEMS + "V,Average item,AVERAGE,,,,RESALE,RETAIL\n"


def test_revaluation_never_dated_before_an_earlier_posted_one_r170_11(tmp_path):
    rows = [tx(1, "purchase", cost=1), tx(2, "revaluation", qty="", cost=2, date="2020-02-01"),
            tx(3, "revaluation", qty="", cost=3, date="2020-01-15", applies=1),
            tx(4, "revaluation", item="S", qty="", cost=3, date="2020-01-15"),  # other item
            tx(5, "revaluation", qty="", cost=3, date="2020-02-01")]  # same day is fine
    assert check(tmp_path, *rows) == [
        (T, "4", "posting_date", "2020-01-15",
         "before the revaluation of this item dated 2020-02-01, posted earlier (R160)"),
    ]


def test_average_revaluation_on_the_last_day_of_its_period_r85(tmp_path):
    rows = [tx(1, "purchase", item="V", cost=1, date="2020-01-02"),
            tx(2, "revaluation", item="V", qty="", cost=2, date="2020-01-31"),
            tx(3, "revaluation", item="V", qty="", cost=2, date="2020-02-15", applies=1),
            tx(4, "revaluation", qty="", cost=2, date="2020-02-15")]  # FIFO: any day
    assert check(tmp_path, *rows, items__csv=AVG_ITEMS,
                 settings__toml='average_cost_period = "month"\n') == [
        (T, "4", "posting_date", "2020-02-15",
         "not the last day of its average cost period (2020-02-29) (R85, R160)"),
    ]


@pytest.mark.parametrize(("period", "good", "bad", "end"), [
    ("day", "2020-01-15", None, None),
    ("week", "2020-01-19", "2020-01-15", "2020-01-19"),
    ("quarter", "2020-03-31", "2020-01-31", "2020-03-31"),
    ("year", "2020-12-31", "2020-03-31", "2020-12-31"),
])
def test_average_period_ends_r91(tmp_path, period, good, bad, end):
    rows = [tx(2, "revaluation", item="V", qty="", cost=2, date=good)]
    if bad:
        rows.insert(0, tx(1, "revaluation", item="V", qty="", cost=2, date=bad))
    expected = [] if bad is None else [
        (T, "2", "posting_date", bad,
         f"not the last day of its average cost period ({end}) (R85, R160)")]
    assert check(tmp_path, *rows, items__csv=AVG_ITEMS,
                 settings__toml=f'average_cost_period = "{period}"\n') == expected


def test_accounting_periods_cover_average_items_r91(tmp_path):
    rows = [tx(1, "purchase", item="V", cost=1, date="2019-12-31"),
            tx(2, "purchase", cost=1, date="2019-12-31"),  # FIFO: periods do not matter
            tx(3, "revaluation", item="V", qty="", cost=2, date="2020-01-30"),
            tx(4, "revaluation", item="V", qty="", cost=2, date="2020-01-31"),
            tx(5, "revaluation", item="V", qty="", cost=2, date="2020-02-29")]
    files = {"items__csv": AVG_ITEMS,
             "settings__toml": 'average_cost_period = "accounting_period"\n'}
    periods = "starting_date\n2020-02-01\n2020-01-01\n"
    assert check(tmp_path / "a", *rows, accounting_periods__csv=periods, **files) == [
        (T, "2", "posting_date", "2019-12-31", "before the first accounting period (R91, R160)"),
        (T, "4", "posting_date", "2020-01-30",
         "not the last day of its average cost period (2020-01-31) (R85, R160)"),
        (T, "6", "posting_date", "2020-02-29",
         "a revaluation in the last accounting period, which has no last day (R170.11)"),
    ]
    assert check(tmp_path / "b", *rows[:1], **files) == [
        ("accounting_periods", None, None, None,
         "required: average_cost_period is accounting_period (R91, R160)"),
    ]
