"""G/L: Post Inventory Cost to G/L once (R120-R126), and the balance check of R126."""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.checks import schema_check
from assets.metadata import KINDS, markdown, table_metadata, total
from assets.resources import InvrecConfig
from pipelines.posting import post_inventory_cost_to_gl
from schemas.gl import GLEntry
from schemas.ledger import ValueEntry

GL_ENTRIES = "gl_entries"
VALUE_ENTRIES = "value_entries"
BALANCE_CHECK = "gl_entries_balance_per_value_entry"


def account_totals(gl_entries: pl.DataFrame) -> pl.DataFrame:
    """Debit, credit and balance per account, for the UI."""
    return (
        gl_entries.group_by("account_no")
        .agg(
            debit=pl.col("amount").clip(lower_bound=0).sum().round(2),
            credit=(-pl.col("amount")).clip(lower_bound=0).sum().round(2),
            balance=pl.col("amount").sum().round(2),
        )
        .sort("account_no")
    )


@dg.multi_asset(
    outs={
        GL_ENTRIES: dg.AssetOut(
            group_name="gl", kinds=KINDS,
            description="G/L entries posted from the value entries by Post Inventory Cost to G/L: "
                        "per value entry an expected-cost pair (interim accounts) and an "
                        "actual-cost pair (Inventory against Direct Cost Applied, COGS, "
                        "Inventory Adjmt., ...); every value entry's rows sum to zero "
                        "(R120-R126)."),
        VALUE_ENTRIES: dg.AssetOut(
            group_name="gl", kinds=KINDS,
            description="Value entries after G/L posting: the adjusted value entries with "
                        "cost_posted_to_gl and expected_cost_posted_to_gl filled in (R124). "
                        "This is the value entry table of the output."),
    },
    name="post_inventory_cost_to_gl",
)
def gl_posting(
    invrec_config: InvrecConfig,
    adjusted_value_entries: pl.DataFrame,
    inventory_posting_setup: pl.DataFrame,
    general_posting_setup: pl.DataFrame,
):
    """Post every value entry to the G/L once; a missing posting setup is an InputError (R122)."""
    gl, ve = post_inventory_cost_to_gl(
        adjusted_value_entries, inventory_posting_setup, general_posting_setup,
        invrec_config.settings(),
    )
    totals = account_totals(gl)
    yield dg.Output(gl, output_name=GL_ENTRIES, metadata=table_metadata(
        gl, total_debit=float(totals["debit"].sum()) if gl.height else 0.0,
        total_credit=float(totals["credit"].sum()) if gl.height else 0.0,
        balance=total(gl, "amount"),
        accounts=dg.MetadataValue.md(markdown(totals, 100) if gl.height else "_no entries_"),
    ))
    yield dg.Output(ve, output_name=VALUE_ENTRIES, metadata=table_metadata(
        ve, cost_posted_to_gl=total(ve, "cost_posted_to_gl"),
        expected_cost_posted_to_gl=total(ve, "expected_cost_posted_to_gl"),
    ))


@dg.asset_check(asset=GL_ENTRIES, name=BALANCE_CHECK,
                description="R126: the G/L entries of every value entry sum to zero.")
def gl_balance_check(gl_entries: pl.DataFrame) -> dg.AssetCheckResult:
    return balance_result(gl_entries)


def balance_result(gl_entries: pl.DataFrame, tolerance: float = 0.005) -> dg.AssetCheckResult:
    """Passed when every value entry's G/L amounts sum to zero within `tolerance` (R126)."""
    sums = gl_entries.group_by("value_entry_no").agg(pl.col("amount").sum().round(6))
    off = sums.filter(pl.col("amount").abs() > tolerance).sort("value_entry_no")
    return dg.AssetCheckResult(
        passed=off.height == 0,
        metadata={
            "value_entries_posted": sums.height,
            "unbalanced_value_entries": off.height,
            "tolerance": tolerance,
            "run_balance": total(gl_entries, "amount"),
            **({"unbalanced": dg.MetadataValue.md(markdown(off, 20))} if off.height else {}),
        },
    )


ASSETS = [gl_posting]
CHECKS = [
    schema_check(GL_ENTRIES, GLEntry),
    schema_check(VALUE_ENTRIES, ValueEntry),
    gl_balance_check,
]
