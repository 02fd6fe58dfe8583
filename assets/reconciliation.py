"""Reconciliation: the inventory subledger against the G/L per account and month (R140-R147)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.checks import schema_check
from assets.ingest import EXTERNAL_GL, external_gl_present
from assets.metadata import KINDS, markdown, table_metadata, total
from assets.resources import InvrecConfig
from pipelines.reconcile import reconcile
from schemas.gl import Reconciliation, ReconciliationVariance

RECONCILIATION = "reconciliation"
RECONCILIATION_VARIANCE = "reconciliation_variance"
DIFFERENCE_CHECK = "reconciliation_differences_explained"
TOP_DOCUMENTS = 10


def all_time(reconciliation: pl.DataFrame) -> pl.DataFrame:
    """The all-time row per account (period_end null), in account order."""
    return (
        reconciliation.filter(pl.col("period_end").is_null())
        .select("account_no", "account_role", "inventory_value", "gl_balance", "difference")
        .sort("account_no")
    )


def top_differences(variance: pl.DataFrame, n: int = TOP_DOCUMENTS) -> pl.DataFrame:
    """The documents with the largest differences (absolute), with their cause."""
    return (
        variance.group_by("document_no", "account_no", "cause")
        .agg(pl.col("difference").sum().round(2), pl.col("item_no").first())
        .sort(pl.col("difference").abs(), "document_no", "account_no", descending=[True, False,
                                                                                   False])
        .head(n)
    )


@dg.multi_asset(
    outs={
        RECONCILIATION: dg.AssetOut(
            group_name="reconciliation", kinds=KINDS,
            description="Inventory subledger against the general ledger per account and calendar "
                        "month, plus an all-time row per account (period_end null): "
                        "inventory_value "
                        "is what the value entries map to the account, gl_balance what the G/L "
                        "holds, difference the gap (R140-R143). The G/L is the input gl_entries "
                        "when given, else invrec's own posting."),
        RECONCILIATION_VARIANCE: dg.AssetOut(
            group_name="reconciliation", kinds=KINDS,
            description="One row per explained difference, by month, account and document, with "
                        "its cause: unposted_cost, direct_posting, amount_mismatch, "
                        "posting_date_mismatch or expected_cost_setup; the rows of an account and "
                        "month add up to its difference (R145-R147)."),
    },
    name="reconcile_inventory_to_gl",
)
def reconciliation_assets(
    invrec_config: InvrecConfig,
    value_entries: pl.DataFrame,
    gl_entries: pl.DataFrame,
    external_gl_entries: pl.DataFrame,
    inventory_posting_setup: pl.DataFrame,
    general_posting_setup: pl.DataFrame,
    gl_accounts: pl.DataFrame,
):
    """Reconcile against the input G/L when the folder has one, else against our own (R143)."""
    external = external_gl_present(invrec_config)
    recon, variance = reconcile(
        value_entries, external_gl_entries if external else gl_entries,
        inventory_posting_setup, general_posting_setup, invrec_config.settings(),
    )
    accounts = all_time(recon)
    named = accounts.join(gl_accounts.select("account_no", "name"), on="account_no", how="left")
    named = named.select("account_no", "name", pl.exclude("account_no", "name"))
    yield dg.Output(recon, output_name=RECONCILIATION, metadata=table_metadata(
        recon, gl_source=EXTERNAL_GL if external else "gl_entries (own posting)",
        total_difference=total(accounts, "difference"),
        accounts_with_difference=accounts.filter(pl.col("difference").abs() >= 0.005).height,
        by_account=dg.MetadataValue.md(markdown(named, 100) if accounts.height
                                       else "_no accounts_"),
    ))
    yield dg.Output(variance, output_name=RECONCILIATION_VARIANCE, metadata=table_metadata(
        variance, total_difference=total(variance, "difference"),
        top_documents=dg.MetadataValue.md(markdown(top_differences(variance))
                                          if variance.height else "_no differences_"),
    ))


@dg.asset_check(
    asset=RECONCILIATION, name=DIFFERENCE_CHECK,
    additional_ins={"reconciliation_variance": dg.AssetIn(RECONCILIATION_VARIANCE)},
    description="Every reconciliation difference is zero or explained: the variance rows of each "
                "account and month (and of all time) add up to its difference (R145-R147). Warns "
                "when differences exist, fails when one is unexplained.",
)
def differences_explained(
    reconciliation: pl.DataFrame, reconciliation_variance: pl.DataFrame
) -> dg.AssetCheckResult:
    return differences_result(reconciliation, reconciliation_variance)


def differences_result(
    reconciliation: pl.DataFrame, variance: pl.DataFrame, tolerance: float = 0.005
) -> dg.AssetCheckResult:
    """Compare each reconciliation row's difference with the sum of its variance rows."""
    explained = pl.col("difference").sum().alias("explained")
    monthly = variance.group_by("period_end", "account_no").agg(explained)
    overall = variance.group_by("account_no").agg(explained)
    checked = pl.concat([
        reconciliation.filter(pl.col("period_end").is_not_null())
        .join(monthly, on=["period_end", "account_no"], how="left"),
        reconciliation.filter(pl.col("period_end").is_null())
        .join(overall, on="account_no", how="left"),
    ]).with_columns(pl.col("explained").fill_null(0.0))
    unexplained = checked.filter((pl.col("difference") - pl.col("explained")).abs() > tolerance)
    differing = checked.filter(pl.col("difference").abs() > tolerance)
    orphan = monthly.join(reconciliation, on=["period_end", "account_no"], how="anti")
    passed = differing.height == 0 and unexplained.height == 0 and orphan.height == 0
    severity = (dg.AssetCheckSeverity.ERROR if unexplained.height or orphan.height
                else dg.AssetCheckSeverity.WARN)
    show = ["period_end", "account_no", "difference", "explained"]
    return dg.AssetCheckResult(
        passed=passed,
        severity=severity,
        metadata={
            "rows_with_difference": differing.height,
            "unexplained_rows": unexplained.height,
            "variance_rows_without_reconciliation_row": orphan.height,
            "total_difference": total(checked.filter(pl.col("period_end").is_null()),
                                      "difference"),
            "tolerance": tolerance,
            **({"unexplained": dg.MetadataValue.md(markdown(unexplained.select(show), 20))}
               if unexplained.height else {}),
            **({"differences": dg.MetadataValue.md(markdown(differing.select(show), 20))}
               if differing.height else {}),
        },
    )


ASSETS = [reconciliation_assets]
CHECKS = [
    schema_check(RECONCILIATION, Reconciliation),
    schema_check(RECONCILIATION_VARIANCE, ReconciliationVariance),
    differences_explained,
]
