"""Reconciliation of the inventory subledger with a G/L: R140-R147 (and R156)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines import reconcile as reconcile_module
from pipelines.errors import InputError
from pipelines.posting import post_inventory_cost_to_gl
from pipelines.reconcile import reconcile, reconciled_accounts, unexplained_differences
from pipelines.settings import Settings
from schemas.base import validate
from schemas.gl import Reconciliation, ReconciliationVariance
from tests.gl_helpers import (
    D,
    general_posting_setup,
    gl,
    inventory_posting_setup,
    value_entries,
    ve,
)

ON = Settings()
OFF = Settings(expected_cost_posting_to_gl=False)
IPS, GPS = inventory_posting_setup(), general_posting_setup()

# P1 bought Jan 10 (100), S1 sold Jan 20 (-60), PR1 received Jan 3 (expected 40, ITEM2),
# PI1 invoiced Feb 7 (42 actual, -40 expected), P2 bought Feb 5 (50).
VES = value_entries(
    ve(1, "Purchase", 100.0, posting_date=D(2020, 1, 10), document_no="P1"),
    ve(2, "Sale", -60.0, posting_date=D(2020, 1, 20), document_no="S1"),
    ve(3, "Purchase", 0.0, 40.0, posting_date=D(2020, 1, 3), document_no="PR1", item_no="ITEM2"),
    ve(4, "Purchase", 42.0, -40.0, ile_no=3, posting_date=D(2020, 2, 7), document_no="PI1",
       item_no="ITEM2"),
    ve(5, "Purchase", 50.0, posting_date=D(2020, 2, 5), document_no="P2"),
)
JAN, FEB, MAR = D(2020, 1, 31), D(2020, 2, 29), D(2020, 3, 31)


def own_gl(setting: Settings = ON) -> pl.DataFrame:
    return post_inventory_cost_to_gl(VES, IPS, GPS, setting)[0]


def run(gl_entries: pl.DataFrame, setting: Settings = ON, ves: pl.DataFrame = VES):
    recon, variance = reconcile(ves, gl_entries, IPS, GPS, setting)
    validate(recon, Reconciliation)
    validate(variance, ReconciliationVariance)
    assert_explained(recon, variance)
    return recon, variance


def assert_explained(recon: pl.DataFrame, variance: pl.DataFrame) -> None:
    """R145/R147/R156: each account+month's rows sum to its difference, all-time rows to theirs."""
    explained = pl.col("difference").sum().alias("explained")
    monthly = variance.group_by("account_no", "period_end").agg(explained)
    total = variance.group_by("account_no").agg(explained)
    checked = pl.concat([
        recon.filter(pl.col("period_end").is_not_null())
        .join(monthly, on=["account_no", "period_end"], how="left"),
        recon.filter(pl.col("period_end").is_null())
        .join(total, on="account_no", how="left").select(recon.columns + ["explained"]),
    ]).with_columns(pl.col("explained").fill_null(0.0))
    off = checked.filter((pl.col("difference") - pl.col("explained")).abs() > 1e-9)
    assert off.height == 0, off
    assert variance.filter(pl.col("difference").abs() < 0.005).height == 0
    assert variance["period_end"].null_count() == 0


def variance_rows(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(
        rows, orient="row",
        schema={"period_end": pl.Date, "account_no": pl.String, "document_no": pl.String,
                "item_no": pl.String, "subledger_amount": pl.Float64, "gl_amount": pl.Float64,
                "difference": pl.Float64, "cause": pl.String},
    )


def figures(recon: pl.DataFrame, account: str) -> list[tuple]:
    return recon.filter(pl.col("account_no") == account).select(
        "period_end", "inventory_value", "gl_balance", "difference").rows()


def test_accounts_and_roles_r140():
    gps = general_posting_setup(cogs_account_interim="7290")
    got = reconciled_accounts(IPS, gps)
    assert dict(got.iter_rows()) == {
        "2130": "inventory", "2131": "inventory_interim", "2140": "inventory",
        "2141": "inventory_interim", "5530": "invt_accrual_interim", "7290": "cogs,cogs_interim",
        "7270": "inventory_adjmt", "7291": "direct_cost_applied", "7292": "overhead_applied",
        "7293": "purchase_variance",
    }


def test_own_gl_with_expected_posting_is_all_zero_r146():
    recon, variance = run(own_gl())
    assert variance.height == 0
    assert (recon["difference"] == 0).all()
    assert recon.height == 11 * 3  # 11 accounts x (Jan, Feb, all time), R141
    assert figures(recon, "2130") == [(JAN, 40.0, 40.0, 0.0), (FEB, 92.0, 92.0, 0.0),
                                      (None, 132.0, 132.0, 0.0)]
    assert figures(recon, "2131") == [(JAN, 40.0, 40.0, 0.0), (FEB, -40.0, -40.0, 0.0),
                                      (None, 0.0, 0.0, 0.0)]
    assert recon.filter(pl.col("account_no") == "7291")["account_role"].unique().to_list() == [
        "direct_cost_applied"]


def test_expected_cost_setup_r145_1():
    """Expected cost not posted: the interim accounts differ by the Xe amounts, and nothing else."""
    recon, variance = run(own_gl(OFF), OFF)
    assert_frame_equal(variance, variance_rows(
        (JAN, "2131", "PR1", "ITEM2", 40.0, 0.0, 40.0, "expected_cost_setup"),
        (FEB, "2131", "PI1", "ITEM2", -40.0, 0.0, -40.0, "expected_cost_setup"),
        (JAN, "5530", "PR1", "ITEM2", -40.0, 0.0, -40.0, "expected_cost_setup"),
        (FEB, "5530", "PI1", "ITEM2", 40.0, 0.0, 40.0, "expected_cost_setup"),
    ))
    assert figures(recon, "2131") == [(JAN, 40.0, 0.0, 40.0), (FEB, -40.0, 0.0, -40.0),
                                      (None, 0.0, 0.0, 0.0)]


def test_a_blank_interim_account_is_not_reconciled_with_expected_posting_off_r122():
    """With expected cost not posted, an Xe pair whose account is blank goes nowhere (nothing to
    reconcile it against); the rest reconciles as before. With it posted, the blank is an input
    error naming the account (R122)."""
    gps = general_posting_setup(invt_accrual_acc_interim="")
    recon, variance = reconcile(VES, own_gl(OFF), IPS, gps, OFF)
    assert_explained(recon, variance)
    assert_frame_equal(variance, variance_rows(
        (JAN, "2131", "PR1", "ITEM2", 40.0, 0.0, 40.0, "expected_cost_setup"),
        (FEB, "2131", "PI1", "ITEM2", -40.0, 0.0, -40.0, "expected_cost_setup"),
    ))
    assert "5530" not in recon["account_no"].to_list()
    assert figures(recon, "2130") == [(JAN, 40.0, 40.0, 0.0), (FEB, 92.0, 92.0, 0.0),
                                      (None, 132.0, 132.0, 0.0)]
    with pytest.raises(InputError, match="invt_accrual_acc_interim is blank.*transaction_no"):
        reconcile(VES, own_gl(OFF), IPS, gps, ON)


def test_direct_posting_r145_3():
    """Manual postings on an inventory account; blank and null documents are one; other accounts
    are ignored and do not widen the months (R147)."""
    extra = gl(
        (D(2020, 2, 15), "2130", 25.0, "MAN-1"),
        (D(2020, 2, 16), "2130", 1.0, None),
        (D(2020, 2, 17), "2130", 2.0, ""),
        (D(2019, 12, 1), "9999", 500.0, "P1"),
    )
    recon, variance = run(pl.concat([own_gl().select(extra.columns), extra],
                                    how="vertical_relaxed"))
    assert_frame_equal(variance, variance_rows(
        (FEB, "2130", None, None, 0.0, 3.0, -3.0, "direct_posting"),
        (FEB, "2130", "MAN-1", None, 0.0, 25.0, -25.0, "direct_posting"),
    ))
    assert figures(recon, "2130") == [(JAN, 40.0, 40.0, 0.0), (FEB, 92.0, 120.0, -28.0),
                                      (None, 132.0, 160.0, -28.0)]
    assert "9999" not in recon["account_no"].to_list()


def test_unposted_cost_r145_2():
    """A document missing from the G/L: its subledger amounts on both accounts."""
    recon, variance = run(own_gl().filter(pl.col("document_no") != "P2"))
    assert_frame_equal(variance, variance_rows(
        (FEB, "2130", "P2", "ITEM1", 50.0, 0.0, 50.0, "unposted_cost"),
        (FEB, "7291", "P2", "ITEM1", -50.0, 0.0, -50.0, "unposted_cost"),
    ))
    assert figures(recon, "7291")[1:] == [(FEB, -92.0, -42.0, -50.0), (None, -192.0, -142.0, -50.0)]


def test_amount_mismatch_r145_4():
    """P1 booked at 90 on Inventory; P2's credit moved to March *and* changed: a mismatch in each
    month where it differs (R147), and the months reach March."""
    ledger = own_gl().with_columns(
        amount=pl.when((pl.col("document_no") == "P1") & (pl.col("account_no") == "2130"))
        .then(90.0)
        .when((pl.col("document_no") == "P2") & (pl.col("account_no") == "7291"))
        .then(-45.0)
        .otherwise("amount"),
        posting_date=pl.when((pl.col("document_no") == "P2") & (pl.col("account_no") == "7291"))
        .then(D(2020, 3, 2))
        .otherwise("posting_date"),
    )
    recon, variance = run(ledger)
    assert_frame_equal(variance, variance_rows(
        (JAN, "2130", "P1", "ITEM1", 100.0, 90.0, 10.0, "amount_mismatch"),
        (FEB, "7291", "P2", "ITEM1", -50.0, 0.0, -50.0, "amount_mismatch"),
        (MAR, "7291", "P2", "ITEM1", 0.0, -45.0, 45.0, "amount_mismatch"),
    ))
    assert figures(recon, "7291") == [(JAN, -100.0, -100.0, 0.0), (FEB, -92.0, -42.0, -50.0),
                                      (MAR, 0.0, -45.0, 45.0), (None, -192.0, -187.0, -5.0)]


def test_cells_that_share_a_mix_are_grouped_on_their_keys(monkeypatch):
    """Every cell given the same mix (the worst collision): each document with a row there is
    grouped on its keys, so the variance is the one the distinct mixes give."""
    ledger = own_gl().with_columns(
        amount=pl.when((pl.col("document_no") == "P1") & (pl.col("account_no") == "2130"))
        .then(90.0).otherwise("amount"))
    expected = run(ledger)
    monkeypatch.setattr(reconcile_module, "_mix", lambda: pl.lit(0, pl.UInt64).alias("mix"))
    recon, variance = run(ledger)
    assert_frame_equal(recon, expected[0])
    assert_frame_equal(variance, expected[1])
    assert variance.select("document_no", "cause").rows() == [("P1", "amount_mismatch")]


def test_posting_date_mismatch_across_a_month_boundary_r145_4():
    """S1 booked on Feb 1 instead of Jan 20: two cancelling rows per account, all time is zero."""
    ledger = own_gl().with_columns(
        posting_date=pl.when(pl.col("document_no") == "S1").then(D(2020, 2, 1))
        .otherwise("posting_date")
    )
    recon, variance = run(ledger)
    assert_frame_equal(variance, variance_rows(
        (JAN, "2130", "S1", "ITEM1", -60.0, 0.0, -60.0, "posting_date_mismatch"),
        (FEB, "2130", "S1", "ITEM1", 0.0, -60.0, 60.0, "posting_date_mismatch"),
        (JAN, "7290", "S1", "ITEM1", 60.0, 0.0, 60.0, "posting_date_mismatch"),
        (FEB, "7290", "S1", "ITEM1", 0.0, 60.0, -60.0, "posting_date_mismatch"),
    ))
    assert figures(recon, "7290") == [(JAN, 60.0, 0.0, 60.0), (FEB, 0.0, 60.0, -60.0),
                                      (None, 60.0, 60.0, 0.0)]


def test_wrong_account_is_unposted_on_one_and_direct_on_the_other_r145_2_3():
    """P1 debited to WEST's inventory account 2140 instead of 2130: for 2130 the document never
    reached the G/L (unposted_cost), for 2140 no value entry maps it there (direct_posting)."""
    ledger = own_gl().with_columns(
        account_no=pl.when((pl.col("document_no") == "P1") & (pl.col("account_no") == "2130"))
        .then(pl.lit("2140")).otherwise("account_no"))
    recon, variance = run(ledger)
    assert_frame_equal(variance, variance_rows(
        (JAN, "2130", "P1", "ITEM1", 100.0, 0.0, 100.0, "unposted_cost"),
        (JAN, "2140", "P1", None, 0.0, 100.0, -100.0, "direct_posting"),
    ))
    assert figures(recon, "2130")[0] == (JAN, 40.0, -60.0, 100.0)
    assert figures(recon, "2140") == [(JAN, 0.0, 100.0, -100.0), (FEB, 0.0, 0.0, 0.0),
                                      (None, 0.0, 100.0, -100.0)]


def test_a_zero_gl_row_is_a_gl_entry_so_the_cause_is_amount_mismatch_r147():
    """R147: "no G/L entry" means no row at all; a row of 0.00 makes P2 an amount_mismatch."""
    ledger = own_gl().with_columns(
        amount=pl.when(pl.col("document_no") == "P2").then(0.0).otherwise("amount"))
    _, variance = run(ledger)
    assert_frame_equal(variance, variance_rows(
        (FEB, "2130", "P2", "ITEM1", 50.0, 0.0, 50.0, "amount_mismatch"),
        (FEB, "7291", "P2", "ITEM1", -50.0, 0.0, -50.0, "amount_mismatch"),
    ))


def test_expected_cost_setup_then_unposted_cost_on_what_is_left_r145_1_2():
    """Expected cost not posted and invoice PI1 missing from the G/L: its Xe part is
    expected_cost_setup, its actual part (S' = S - S_e) unposted_cost, per account and month."""
    recon, variance = run(own_gl(OFF).filter(pl.col("document_no") != "PI1"), OFF)
    assert_frame_equal(variance, variance_rows(
        (FEB, "2130", "PI1", "ITEM2", 42.0, 0.0, 42.0, "unposted_cost"),
        (JAN, "2131", "PR1", "ITEM2", 40.0, 0.0, 40.0, "expected_cost_setup"),
        (FEB, "2131", "PI1", "ITEM2", -40.0, 0.0, -40.0, "expected_cost_setup"),
        (JAN, "5530", "PR1", "ITEM2", -40.0, 0.0, -40.0, "expected_cost_setup"),
        (FEB, "5530", "PI1", "ITEM2", 40.0, 0.0, 40.0, "expected_cost_setup"),
        (FEB, "7291", "PI1", "ITEM2", -42.0, 0.0, -42.0, "unposted_cost"),
    ))
    assert figures(recon, "2130")[1:] == [(FEB, 92.0, 50.0, 42.0), (None, 132.0, 90.0, 42.0)]


def test_a_date_moved_within_the_month_is_invisible_r147():
    ledger = own_gl().with_columns(
        posting_date=pl.when(pl.col("document_no") == "S1").then(D(2020, 1, 31))
        .otherwise("posting_date"))
    recon, variance = run(ledger)
    assert variance.height == 0 and (recon["difference"] == 0).all()


def test_one_row_per_cell_and_cause_when_a_document_has_several_entries_r147():
    """Two G/L rows of MAN-2 in one month on 2130: one direct_posting row with their sum."""
    extra = gl((D(2020, 1, 5), "2130", 7.0, "MAN-2"), (D(2020, 1, 25), "2130", 8.0, "MAN-2"),
               (D(2020, 1, 26), "7270", -15.0, "MAN-2"))
    recon, variance = run(pl.concat([own_gl().select(extra.columns), extra],
                                    how="vertical_relaxed"))
    assert_frame_equal(variance, variance_rows(
        (JAN, "2130", "MAN-2", None, 0.0, 15.0, -15.0, "direct_posting"),
        (JAN, "7270", "MAN-2", None, 0.0, -15.0, 15.0, "direct_posting"),
    ))
    assert figures(recon, "7270")[0] == (JAN, 0.0, -15.0, 15.0)


def test_below_half_a_rounding_unit_is_zero_r147():
    ledger = own_gl().with_columns(
        amount=pl.when(pl.col("document_no") == "P1").then(pl.col("amount") + 0.004)
        .otherwise("amount")
    )
    recon, variance = run(ledger)
    assert variance.height == 0
    assert (recon["difference"] == 0).all()


def test_item_no_only_when_the_document_has_one_item():
    ves = value_entries(
        ve(1, "Purchase", 10.0, document_no="P9", item_no="A"),
        ve(2, "Purchase", 20.0, document_no="P9", item_no="B"),
    )
    _, variance = run(gl(), ves=ves)
    assert_frame_equal(variance, variance_rows(
        (D(2020, 1, 31), "2130", "P9", None, 30.0, 0.0, 30.0, "unposted_cost"),
        (D(2020, 1, 31), "7291", "P9", None, -30.0, 0.0, -30.0, "unposted_cost"),
    ))


def test_nothing_posted_gives_zero_all_time_rows():
    recon, variance = run(gl(), ves=VES.clear())
    assert variance.height == 0
    assert recon.height == 11
    assert recon["period_end"].null_count() == 11
    assert (recon["difference"] == 0).all()


@pytest.mark.parametrize("setting", [ON, OFF])
def test_reconcile_accepts_own_gl_after_posting(setting):
    """Value entries come back from posting with posted fields set: the subledger is unchanged."""
    gl_entries, posted = post_inventory_cost_to_gl(VES, IPS, GPS, setting)
    recon_a, var_a = run(gl_entries, setting, ves=posted)
    recon_b, var_b = run(gl_entries, setting, ves=VES)
    assert_frame_equal(recon_a, recon_b)
    assert_frame_equal(var_a, var_b)


def test_unexplained_differences_finds_a_missing_explanation():
    ledger = own_gl().filter(pl.col("document_no") != "P2")
    recon, variance = run(ledger)
    assert unexplained_differences(recon, variance).height == 0
    gaps = unexplained_differences(recon, variance.filter(pl.col("account_no") != "7291"))
    assert gaps.select("period_end", "account_no", "difference", "explained").rows() == [
        (FEB, "7291", -50.0, 0.0), (None, "7291", -50.0, 0.0)]


# R156 on random G/Ls: drop, change, re-date and add rows; every difference stays explained.
_DOCS = ["P1", "S1", "PR1", "PI1", "P2", "MAN", None]
_edit = st.tuples(
    st.sampled_from(["drop", "amount", "date", "add"]),
    st.integers(0, 30),  # which G/L row
    st.integers(-5000, 5000).map(lambda c: c / 100),
    st.sampled_from([D(2019, 12, 31), D(2020, 1, 31), D(2020, 2, 1), D(2020, 4, 30)]),
    st.sampled_from(["2130", "2131", "7291", "9999"]),
    st.sampled_from(_DOCS),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_edit, max_size=6), st.booleans())
def test_every_difference_is_explained_r156(edits, expected_on):
    setting = ON if expected_on else OFF
    rows = own_gl(setting).select("posting_date", "account_no", "amount", "document_no").rows()
    for op, i, amount, date, account, doc in edits:  # builds the test input, a handful of edits
        if op == "add" or not rows:
            rows.append((date, account, amount, doc))
            continue
        d, a, x, n = rows[i % len(rows)]
        rows[i % len(rows)] = {"drop": None, "amount": (d, a, amount, n),
                               "date": (date, a, x, n)}[op]
        rows = [r for r in rows if r is not None]
    recon, variance = run(gl(*rows), setting)  # run() asserts R147 and the sums (R156)
    assert unexplained_differences(recon, variance).height == 0
    if not edits:
        assert set(variance["cause"]) <= {"expected_cost_setup"}
        assert (variance.height == 0) == expected_on


def test_a_bucket_is_flagged_exactly_when_one_of_its_cells_may_differ():
    """The buckets of `_flagged_buckets` (top 16 bits of the mix): a cell whose rows cancel
    leaves its bucket out; two cells of one bucket off by opposite amounts, an amount too large
    for 64-bit units and a tenth of a cent each flag theirs."""
    bucket = 1 << 48

    def rows(*cells):  # (bucket, cell in it, s, g) per row: S and G amounts
        return pl.DataFrame(
            {"mix": [b * bucket + c for b, c, *_ in cells], "s": [r[2] for r in cells],
             "g": [r[3] for r in cells]},
            schema={"mix": pl.UInt64, "s": pl.Float64, "g": pl.Float64}).lazy()

    mixed = rows(
        (1, 7, 10.25, 0.0), (1, 7, 0.0, 10.25),  # agrees: left out
        (2, 7, 0.01, 0.0), (2, 9, 0.0, 0.01),  # two cells off by opposite cents
        (4, 7, 1e20, 0.0), (4, 7, 0.0, 1e20),  # beyond 64-bit units: flagged all the same
        (5, 7, 0.001, 0.0),  # a tenth of a cent: flagged (the group-by then finds it zero)
        (6, 7, 5.0, 5.0),  # agrees
    )
    assert sorted(reconcile_module._flagged_buckets(mixed, 0.01).to_list()) == [2, 4, 5]


def test_balances_of_millions_keep_their_cents_r2():
    """R2 on the sums: a relative nudge of 1e-9 is more than half a cent from 5,000,000.00 up;
    these figures came out one to three cents high."""
    ves = value_entries(
        ve(1, "Purchase", 9_999_999.99, posting_date=D(2020, 1, 10), document_no="P1"),
        ve(2, "Purchase", 12_345_678.91, posting_date=D(2020, 2, 5), document_no="P2"))
    recon, variance = run(post_inventory_cost_to_gl(ves, IPS, GPS, ON)[0], ves=ves)
    assert variance.height == 0
    assert figures(recon, "2130") == [(JAN, 9_999_999.99, 9_999_999.99, 0.0),
                                      (FEB, 12_345_678.91, 12_345_678.91, 0.0),
                                      (None, 22_345_678.90, 22_345_678.90, 0.0)]


def test_cells_read_in_parts_or_at_once_give_the_same_variance(monkeypatch):
    """The flagged buckets' rows are read in one pass when few, in parts over the mix when
    many (`_FEW_BUCKETS`): the same cells, the same variance either way."""
    ledger = own_gl().with_columns(
        amount=pl.when((pl.col("document_no") == "P1") & (pl.col("account_no") == "2130"))
        .then(90.0).otherwise("amount"),
        posting_date=pl.when(pl.col("document_no") == "S1").then(D(2020, 2, 1))
        .otherwise("posting_date"),
    )
    at_once = run(ledger)
    monkeypatch.setattr(reconcile_module, "_FEW_BUCKETS", 0)
    in_parts = run(ledger)
    assert_frame_equal(in_parts[0], at_once[0])
    assert_frame_equal(in_parts[1], at_once[1])
    assert at_once[1].get_column("cause").unique().sort().to_list() == [
        "amount_mismatch", "posting_date_mismatch"]
