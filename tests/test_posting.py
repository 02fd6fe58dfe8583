"""Post Inventory Cost to G/L: R120-R126, R170.12."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines.errors import InputError
from pipelines.posting import (
    _COMBO,
    ACCOUNT_PAIRS,
    _combinations,
    _descriptions,
    post_inventory_cost_to_gl,
    posting_rows,
    posting_slots,
    unbalanced_value_entries,
)
from pipelines.settings import Settings
from schemas.base import Code, columns, conform, validate
from schemas.gl import GLEntry
from tests.gl_helpers import D, general_posting_setup, inventory_posting_setup, value_entries, ve

ON = Settings()
OFF = Settings(expected_cost_posting_to_gl=False)


def post(*rows, setting=ON, ips=None, gps=None):
    return post_inventory_cost_to_gl(
        value_entries(*rows), ips if ips is not None else inventory_posting_setup(),
        gps if gps is not None else general_posting_setup(), setting,
    )


def account_amounts(gl: pl.DataFrame) -> list[tuple[str, float]]:
    return list(zip(gl["account_no"], gl["amount"], strict=True))


# R121, row by row: (ile type, value entry type, actual, expected, location) -> G/L in R123 order.
R121_CASES = {
    "purchase": ("Purchase", "Direct Cost", 100.0, 0.0, "", [("2130", 100.0), ("7291", -100.0)]),
    "purchase_receipt": ("Purchase", "Direct Cost", 0.0, 95.0, "",
                         [("2131", 95.0), ("5530", -95.0)]),
    "purchase_invoice": ("Purchase", "Direct Cost", 100.0, -95.0, "",
                         [("2131", -95.0), ("5530", 95.0), ("2130", 100.0), ("7291", -100.0)]),
    "purchase_return": ("Purchase", "Direct Cost", -50.0, 0.0, "", [("2130", -50.0),
                                                                    ("7291", 50.0)]),
    "indirect_cost": ("Purchase", "Indirect Cost", 7.5, 0.0, "", [("2130", 7.5), ("7292", -7.5)]),
    "purchase_variance": ("Purchase", "Variance", -12.0, 0.0, "", [("2130", -12.0),
                                                                   ("7293", 12.0)]),
    "sale": ("Sale", "Direct Cost", -80.0, 0.0, "", [("2130", -80.0), ("7290", 80.0)]),
    "sales_shipment": ("Sale", "Direct Cost", 0.0, -80.0, "", [("2131", -80.0), ("7295", 80.0)]),
    "sales_invoice": ("Sale", "Direct Cost", -80.0, 80.0, "",
                      [("2131", 80.0), ("7295", -80.0), ("2130", -80.0), ("7290", 80.0)]),
    "sales_return": ("Sale", "Direct Cost", 30.0, 0.0, "", [("2130", 30.0), ("7290", -30.0)]),
    "positive_adjustment": ("Positive Adjmt.", "Direct Cost", 20.0, 0.0, "",
                            [("2130", 20.0), ("7270", -20.0)]),
    "negative_adjustment": ("Negative Adjmt.", "Direct Cost", -20.0, 0.0, "",
                            [("2130", -20.0), ("7270", 20.0)]),
    "transfer_from_leg": ("Transfer", "Direct Cost", -40.0, 0.0, "", [("2130", -40.0),
                                                                      ("7270", 40.0)]),
    "transfer_to_leg_west": ("Transfer", "Direct Cost", 40.0, 0.0, "WEST",
                             [("2140", 40.0), ("7270", -40.0)]),
    "revaluation": ("Purchase", "Revaluation", 15.0, 0.0, "", [("2130", 15.0), ("7270", -15.0)]),
    "revaluation_of_transfer_leg": ("Transfer", "Revaluation", -6.0, 0.0, "WEST",
                                    [("2140", -6.0), ("7270", 6.0)]),
    "rounding": ("Purchase", "Rounding", -0.01, 0.0, "", [("2130", -0.01), ("7270", 0.01)]),
    "rounding_on_sales_return": ("Sale", "Rounding", 0.01, 0.0, "",
                                 [("2130", 0.01), ("7270", -0.01)]),
}


@pytest.mark.parametrize("case", list(R121_CASES))
def test_r121_accounts_per_entry_type(case):
    ile_type, ve_type, actual, expected, location, want = R121_CASES[case]
    gl, _ = post(ve(1, ile_type, actual, expected, entry_type=ve_type, location_code=location))
    assert account_amounts(gl) == want
    assert gl["amount"].sum() == pytest.approx(0.0, abs=1e-9)  # R126


def test_adjustment_entry_posts_on_its_own_moved_date_with_the_documents_accounts():
    """R63/R123: an adjustment of a sale (no transaction) credits Inventory, debits COGS."""
    gl, _ = post(ve(7, "Sale", -3.33, entry_type="Direct Cost", transaction_no=None,
                    document_no="S-9", posting_date=D(2020, 3, 31), adjustment=True))
    assert account_amounts(gl) == [("2130", -3.33), ("7290", 3.33)]
    assert gl["posting_date"].to_list() == [D(2020, 3, 31)] * 2
    assert gl["document_no"].to_list() == ["S-9"] * 2


def test_transfer_nets_to_zero_on_inventory_adjmt():
    gl, _ = post(ve(1, "Transfer", -40.0, ile_no=1), ve(2, "Transfer", 40.0, ile_no=2,
                                                        transaction_no=1, location_code="WEST"))
    totals = dict(gl.group_by("account_no").agg(pl.col("amount").sum()).iter_rows())
    assert totals == {"2130": -40.0, "2140": 40.0, "7270": 0.0}


def test_gl_entries_whole_frame_r123():
    """E19 (receipt 95 expected, invoice 100) then a sale: numbering, order, fields, text."""
    gl, _ = post(
        ve(1, "Purchase", 0.0, 95.0, posting_date=D(2020, 1, 1), document_no="PR-001"),
        ve(2, "Purchase", 100.0, -95.0, ile_no=1, document_no="PI-001"),
        ve(3, "Sale", -80.0, document_no="S-1", item_no="ITEM2", location_code="WEST"),
    )
    want = pl.DataFrame(
        {
            "entry_no": [1, 2, 3, 4, 5, 6, 7, 8],
            "posting_date": [D(2020, 1, 1)] * 2 + [D(2020, 1, 15)] * 6,
            "account_no": ["2131", "5530", "2131", "5530", "2130", "7291", "2140", "7290"],
            "amount": [95.0, -95.0, -95.0, 95.0, 100.0, -100.0, -80.0, 80.0],
            "value_entry_no": [1, 1, 2, 2, 2, 2, 3, 3],
            "document_no": ["PR-001"] * 2 + ["PI-001"] * 4 + ["S-1"] * 2,
            "item_no": ["ITEM1"] * 6 + ["ITEM2"] * 2,
            "location_code": [""] * 6 + ["WEST"] * 2,
            "description": ["Direct Cost (expected) ITEM1"] * 4 + ["Direct Cost ITEM1"] * 2
            + ["Direct Cost ITEM2"] * 2,
        }
    )
    assert_frame_equal(gl, conform(want, GLEntry))  # Code columns held as Categorical
    validate(gl, GLEntry)


def test_posted_fields_r124_expected_on():
    _, posted = post(ve(1, "Purchase", 0.0, 95.0), ve(2, "Purchase", 100.0, -95.0, ile_no=1))
    assert posted["cost_posted_to_gl"].to_list() == [0.0, 100.0]
    assert posted["expected_cost_posted_to_gl"].to_list() == [95.0, -95.0]


def test_expected_cost_not_posted_r125():
    """Receipt: no G/L at all; invoice: only its actual pair; posted expected stays 0 (R124)."""
    gl, posted = post(ve(1, "Purchase", 0.0, 95.0), ve(2, "Purchase", 100.0, -95.0, ile_no=1),
                      ve(3, "Sale", -80.0, 80.0), setting=OFF)
    assert account_amounts(gl) == [("2130", 100.0), ("7291", -100.0), ("2130", -80.0),
                                   ("7290", 80.0)]
    assert gl["value_entry_no"].to_list() == [2, 2, 3, 3]
    assert gl["entry_no"].to_list() == [1, 2, 3, 4]
    assert posted["cost_posted_to_gl"].to_list() == [0.0, 100.0, -80.0]
    assert posted["expected_cost_posted_to_gl"].to_list() == [0.0, 0.0, 0.0]


def test_only_the_amount_not_yet_posted_is_posted_r120():
    gl, _ = post(ve(1, "Purchase", 100.0, 20.0, cost_posted_to_gl=60.0,
                    expected_cost_posted_to_gl=20.0))
    assert account_amounts(gl) == [("2130", 40.0), ("7291", -40.0)]


def test_zero_amounts_write_no_rows_r120():
    gl, _ = post(ve(1, "Sale", 0.0, 0.0), ve(2, "Purchase", 0.0, 0.0, entry_type="Revaluation"))
    assert gl.height == 0
    assert gl.columns == columns(GLEntry)


def test_no_value_entries_gives_empty_gl():
    gl, posted = post()
    assert gl.height == 0 and posted.height == 0
    validate(gl, GLEntry)


# R126 on any mix of valid combinations: every value entry's rows sum to zero.
_COMBOS = ACCOUNT_PAIRS.select("item_ledger_entry_type", "entry_type").unique().rows()
_amount = st.integers(-10**6, 10**6).map(lambda c: c / 100)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_COMBOS), _amount, _amount,
                          st.sampled_from(["", "WEST"]), st.booleans()), max_size=12))
def test_every_value_entry_balances_r126(entries):
    rows = [
        ve(i + 1, ile, actual, expected if (ile, typ) in (("Purchase", "Direct Cost"),
                                                          ("Sale", "Direct Cost")) else 0.0,
           entry_type=typ, location_code=loc)
        for i, ((ile, typ), actual, expected, loc, _) in enumerate(entries)
    ]
    for setting in (ON, OFF):
        gl, posted = post(*rows, setting=setting)
        per_entry = gl.group_by("value_entry_no").agg(pl.col("amount").sum().abs().max())
        assert (per_entry["amount"] < 1e-6).all()
        assert unbalanced_value_entries(gl).height == 0
        n_amounts = sum((r["cost_amount_actual"] != 0)
                        + (setting.expected_cost_posting_to_gl and r["cost_amount_expected"] != 0)
                        for r in rows)
        assert gl.height == 2 * n_amounts
        assert gl["entry_no"].to_list() == list(range(1, gl.height + 1))
        assert gl["value_entry_no"].is_sorted()
        assert_frame_equal(posted.select(c="cost_posted_to_gl"),
                           posted.select(c="cost_amount_actual"))


def test_missing_general_posting_setup_row_names_combination_roles_and_transactions():
    with pytest.raises(InputError) as err:
        post(ve(1, "Purchase", 100.0), ve(2, "Sale", -80.0, gen_bus_posting_group="EXPORT"),
             ve(3, "Sale", -5.0, gen_bus_posting_group="EXPORT", transaction_no=None),
             ve(4, "Sale", -1.0, gen_bus_posting_group="EXPORT"))
    [problem] = err.value.problems
    assert problem.table == "general_posting_setup"
    assert problem.row == "gen_bus_posting_group='EXPORT', gen_prod_posting_group='RETAIL'"
    assert problem.column == "cogs_account"
    assert problem.value is None
    assert problem.rule == (
        "R122: no general_posting_setup row for gen_bus_posting_group='EXPORT', "
        "gen_prod_posting_group='RETAIL'; cogs_account (cogs) needed by transaction_no 2, 4; "
        "cost adjustment value entries 3"
    )


def test_blank_inventory_account_names_location_and_transactions():
    ips = inventory_posting_setup()
    ips = ips.with_columns(
        inventory_account=pl.when(pl.col("location_code") == "WEST").then(pl.lit("  "))
        .otherwise("inventory_account")
    )
    with pytest.raises(InputError) as err:
        post(ve(1, "Transfer", -40.0), ve(2, "Transfer", 40.0, transaction_no=1,
                                          location_code="WEST"), ips=ips)
    [problem] = err.value.problems
    assert (problem.table, problem.column, problem.value) == (
        "inventory_posting_setup", "inventory_account", "")
    assert "location_code='WEST', inventory_posting_group='RESALE'" in problem.rule
    assert problem.rule.endswith("inventory_account (inventory) needed by transaction_no 1")


def test_missing_setup_is_no_error_without_non_zero_amounts_r170_12():
    """A zero-cost entry at an unknown location, and interim accounts blank while expected cost is
    not posted, need nothing."""
    gps = general_posting_setup(cogs_account_interim="", invt_accrual_acc_interim=None)
    gl, _ = post(ve(1, "Positive Adjmt.", 0.0, location_code="EAST"),
                 ve(2, "Purchase", 0.0, 50.0), setting=OFF, gps=gps)
    assert gl.height == 0
    with pytest.raises(InputError, match="invt_accrual_acc_interim is blank"):
        post(ve(2, "Purchase", 0.0, 50.0), setting=ON, gps=gps)


def test_duplicate_setup_combination_is_an_input_error():
    gps = pl.concat([general_posting_setup(), general_posting_setup(cogs_account="7299")])
    with pytest.raises(InputError, match="combination given more than once"):
        post(ve(1, "Sale", -1.0), gps=gps)


def test_posting_rows_include_xe_whatever_the_setting():
    """The mapping reconciliation reads (R142) has the Xe pair even with posting off."""
    slots = posting_slots(
        value_entries(ve(1, "Sale", 0.0, -80.0)), inventory_posting_setup(),
        general_posting_setup(), include_expected=True, unposted_only=False,
        require_expected_accounts=True, precision=0.01, ordered=True)
    rows = posting_rows(slots)
    assert rows.select(slots.account_no.gather(rows["at"]), "amount", "slot").rows() == [
        ("2131", -80.0, 0),  # Inventory (Interim)
        ("7295", 80.0, 1),  # COGS (Interim)
    ]


@given(st.lists(st.tuples(st.sampled_from(["Direct Cost", "Revaluation", "Rounding", "Variance"]),
                          st.sampled_from(["B", "A", "ITEM9", "C"]), st.sampled_from([0, 2])),
                min_size=1, max_size=12))
def test_descriptions_name_each_rows_kind_of_cost_and_item(rows):
    """R123: each account row's text is its value entry's type, `(expected)` on the Xe pair's
    row (slot 0), and its item, whatever order the entry types' and items' category codes
    were made in."""
    entries = pl.DataFrame({"entry_type": [r[0] for r in rows], "item_no": [r[1] for r in rows]},
                           schema={"entry_type": Code, "item_no": Code}).reverse()
    accounts = pl.DataFrame({"row": list(range(len(rows)))[::-1],
                             "slot": [r[2] for r in rows]}, schema={"row": pl.UInt32,
                                                                    "slot": pl.Int8})
    got = _descriptions(entries, accounts)
    assert got.dtype == Code
    assert got.to_list() == [f"{t}{' (expected)' if slot == 0 else ''} {item}"
                             for t, item, slot in rows]


def test_combinations_survive_a_hash_collision():
    """Each value entry's combination, found by hash; colliding hashes fall back to the join
    instead of giving one combination's accounts to another."""
    entries = value_entries(ve(1, "Purchase", 100.0), ve(2, "Sale", -80.0),
                            ve(3, "Purchase", 5.0, location_code="WEST"), ve(4, "Sale", -1.0))
    for hashed in (None, pl.Series([0, 0, 0, 0], dtype=pl.UInt64)):  # None: the real hashes
        combo, combos = _combinations(entries, hashed)
        assert combos.height == 3
        assert combos.select(_COMBO)[combo].equals(entries.select(_COMBO))
        assert combo[0] != combo[1] != combo[2] and combo[1] == combo[3]


def test_combinations_tell_a_null_code_from_every_text():
    """A Code column is mixed in by its category number, a null by a number no category has:
    a null location is a combination of its own, as is a text location."""
    entries = value_entries(ve(1, "Purchase", 100.0), ve(2, "Purchase", 5.0, location_code="WEST"),
                            ve(3, "Purchase", 7.0), ve(4, "Purchase", 1.0, location_code="WEST"))
    entries = entries.with_columns(location_code=pl.when(pl.col("entry_no") % 2 == 1)
                                   .then(None).otherwise("location_code"))
    assert entries.schema["location_code"] == Code
    combo, combos = _combinations(entries)
    assert combos.height == 2
    assert combos.select(_COMBO)[combo].equals(entries.select(_COMBO))
    assert combo[0] == combo[2] and combo[1] == combo[3] and combo[0] != combo[1]


def test_unbalanced_value_entries_check():
    gl, _ = post(ve(1, "Purchase", 100.0), ve(2, "Sale", -80.0))
    broken = gl.with_columns(amount=pl.when(pl.col("entry_no") == 4).then(79.0)
                             .otherwise("amount"))
    assert unbalanced_value_entries(gl).height == 0
    assert unbalanced_value_entries(broken).rows() == [(2, -1.0)]
