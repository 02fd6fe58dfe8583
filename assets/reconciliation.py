"""Reconciliation: the inventory subledger against the G/L per account and month (R140-R147).

Two checks, both blocking: every difference is explained (R156, a product guarantee, ERROR when
broken) and every difference is within the company's tolerance (`reconciliation_tolerance`,
failing with `reconciliation_severity`; at `error` the run, the nightly one included, fails).
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.checks import schema_result, schema_spec
from assets.ingest import EXTERNAL_GL, external_gl_present
from assets.metadata import KINDS, bars, markdown, table_metadata, total
from assets.resources import InvrecConfig
from pipelines.reconcile import reconcile
from pipelines.settings import Settings
from schemas.gl import Reconciliation, ReconciliationVariance

RECONCILIATION = "reconciliation"
RECONCILIATION_VARIANCE = "reconciliation_variance"
DIFFERENCE_CHECK = "reconciliation_differences_explained"
TOLERANCE_CHECK = "reconciliation_within_tolerance"
TOP_DOCUMENTS = 10
MAX_ROWS_SHOWN = 20
# R140 roles whose accounts hold the inventory itself (the rest are the balancing P&L accounts)
INVENTORY_ROLES = ("inventory", "inventory_interim")
SEVERITIES = {"warn": dg.AssetCheckSeverity.WARN, "error": dg.AssetCheckSeverity.ERROR}


# --- what a controller reads -------------------------------------------------------------------

def all_time(reconciliation: pl.DataFrame) -> pl.DataFrame:
    """The all-time row per account (period_end null), in account order."""
    return (
        reconciliation.filter(pl.col("period_end").is_null())
        .select("account_no", "account_role", "inventory_value", "gl_balance", "difference")
        .sort("account_no")
    )


def by_account(reconciliation: pl.DataFrame, gl_accounts: pl.DataFrame) -> pl.DataFrame:
    """The all-time rows with the account names of the chart of accounts (when given)."""
    names = gl_accounts.select(pl.col("account_no").cast(pl.String), pl.col("name").cast(pl.String))
    return (
        all_time(reconciliation)
        .join(names.unique("account_no"), on="account_no", how="left")
        .select("account_no", "name", "account_role", "inventory_value", "gl_balance",
                "difference")
    )


def top_differences(variance: pl.DataFrame, n: int = TOP_DOCUMENTS) -> pl.DataFrame:
    """The documents with the largest differences per account and cause: net over the months,
    gross (sum of the monthly magnitudes, so a moved date shows although it nets to zero)."""
    return (
        variance.group_by("document_no", "account_no", "cause")
        .agg(
            pl.col("item_no").first(),
            pl.col("period_end").min().alias("first_month"),
            pl.col("period_end").max().alias("last_month"),
            pl.col("difference").sum().round(2).alias("net"),
            pl.col("difference").abs().sum().round(2).alias("gross"),
        )
        .sort(pl.col("gross"), "document_no", "account_no", descending=[True, False, False],
              nulls_last=True)
        .head(n)
    )


def differences_by_month(reconciliation: pl.DataFrame) -> pl.DataFrame:
    """Per month: accounts that differ, gross and net difference, inventory accounts' difference,
    and a bar of the gross difference (the per-period plot of the metadata)."""
    inventory = pl.col("account_role").str.split(",").list.eval(
        pl.element().is_in(list(INVENTORY_ROLES))).list.any()
    return (
        reconciliation.filter(pl.col("period_end").is_not_null())
        .group_by("period_end")
        .agg(
            accounts_differing=(pl.col("difference").abs() >= 0.005).sum(),
            gross=pl.col("difference").abs().sum().round(2),
            net=pl.col("difference").sum().round(2),
            inventory_accounts=pl.col("difference").filter(inventory).sum().round(2),
        )
        .sort("period_end")
        .with_columns(plot=bars(pl.col("gross")))
    )


def reconciliation_figures(reconciliation: pl.DataFrame) -> dict:
    """Numeric figures of a run, which Dagster plots across materializations (nightly history)."""
    accounts = all_time(reconciliation)
    inventory = accounts.filter(pl.col("account_role").str.split(",").list.eval(
        pl.element().is_in(list(INVENTORY_ROLES))).list.any())
    monthly = reconciliation.filter(pl.col("period_end").is_not_null())
    return {
        "total_difference": total(accounts, "difference"),
        "inventory_accounts_difference": total(inventory, "difference"),
        "gross_difference": round(float(accounts["difference"].abs().sum() or 0.0), 2),
        # all time: an account whose months cancel out (a date moved across months) has none
        "accounts_with_difference_all_time": accounts.filter(
            pl.col("difference").abs() >= 0.005).height,
        "months_with_difference": monthly.filter(pl.col("difference").abs() >= 0.005)
        ["period_end"].n_unique(),
    }


def _md(frame: pl.DataFrame, empty_text: str, rows: int = MAX_ROWS_SHOWN) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown(frame, rows) if frame.height else empty_text)


# --- the assets --------------------------------------------------------------------------------

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
    check_specs=[schema_spec(RECONCILIATION, Reconciliation),
                 schema_spec(RECONCILIATION_VARIANCE, ReconciliationVariance)],
)
def reconciliation_assets(
    context,  # unannotated: a string annotation (future import) is refused by Dagster
    invrec_config: InvrecConfig,
    value_entries: pl.DataFrame,
    gl_entries: pl.DataFrame,
    external_gl_entries: pl.DataFrame,
    inventory_posting_setup: pl.DataFrame,
    general_posting_setup: pl.DataFrame,
    gl_accounts: pl.DataFrame,
):
    """Reconcile against the input G/L when ingest read one, else against our own (R143)."""
    external = external_gl_present(invrec_config, context.instance)
    recon, variance = reconcile(
        value_entries, external_gl_entries if external else gl_entries,
        inventory_posting_setup, general_posting_setup, invrec_config.settings(),
    )
    yield dg.Output(recon, output_name=RECONCILIATION, metadata=table_metadata(
        recon, gl_source=EXTERNAL_GL if external else "gl_entries (own posting)",
        **reconciliation_figures(recon),
        by_account=_md(by_account(recon, gl_accounts), "_no accounts_", 100),
        differences_by_month=_md(differences_by_month(recon), "_no months_", 100),
    ))
    causes = (variance.group_by("cause").agg(rows=pl.len(), gross=pl.col("difference").abs()
                                             .sum().round(2)).sort("cause"))
    yield dg.Output(variance, output_name=RECONCILIATION_VARIANCE, metadata=table_metadata(
        variance, total_difference=total(variance, "difference"),
        by_cause=_md(causes, "_no differences_"),
        top_documents=_md(top_differences(variance), "_no differences_"),
    ))
    yield schema_result(recon, Reconciliation, RECONCILIATION)
    yield schema_result(variance, ReconciliationVariance, RECONCILIATION_VARIANCE)


# --- the checks --------------------------------------------------------------------------------

@dg.asset_check(
    asset=RECONCILIATION, name=DIFFERENCE_CHECK, blocking=True,
    additional_ins={"reconciliation_variance": dg.AssetIn(RECONCILIATION_VARIANCE)},
    description="Every reconciliation difference is explained: the variance rows of each "
                "account and month (and of all time) add up to its difference, and no variance "
                "row lacks its reconciliation row (R145-R147, R156). Fails at ERROR otherwise; "
                "whether differences are acceptable is the tolerance check's question.",
)
def differences_explained(
    invrec_config: InvrecConfig, reconciliation: pl.DataFrame,
    reconciliation_variance: pl.DataFrame,
) -> dg.AssetCheckResult:
    return differences_result(reconciliation, reconciliation_variance,
                              invrec_config.settings().amount_rounding_precision)


def differences_result(
    reconciliation: pl.DataFrame, variance: pl.DataFrame, precision: float = 0.01
) -> dg.AssetCheckResult:
    """Compare each reconciliation row's difference with the sum of its variance rows (R156)."""
    zero = precision / 2
    explained = pl.col("difference").sum().alias("explained")
    monthly = variance.group_by("period_end", "account_no").agg(explained)
    overall = variance.group_by("account_no").agg(explained)
    checked = pl.concat([
        reconciliation.filter(pl.col("period_end").is_not_null())
        .join(monthly, on=["period_end", "account_no"], how="left"),
        reconciliation.filter(pl.col("period_end").is_null())
        .join(overall, on="account_no", how="left"),
    ]).with_columns(pl.col("explained").fill_null(0.0))
    unexplained = checked.filter((pl.col("difference") - pl.col("explained")).abs() >= zero)
    differing = checked.filter(pl.col("difference").abs() >= zero)
    orphan = monthly.join(reconciliation, on=["period_end", "account_no"], how="anti")
    show = ["period_end", "account_no", "difference", "explained"]
    return dg.AssetCheckResult(
        passed=unexplained.height == 0 and orphan.height == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_with_difference": differing.height,
            "unexplained_rows": unexplained.height,
            "variance_rows_without_reconciliation_row": orphan.height,
            "total_difference": total(checked.filter(pl.col("period_end").is_null()),
                                      "difference"),
            **({"unexplained": _md(unexplained.select(show), "")} if unexplained.height else {}),
        },
    )


@dg.asset_check(
    asset=RECONCILIATION, name=TOLERANCE_CHECK, blocking=True,
    additional_ins={"reconciliation_variance": dg.AssetIn(RECONCILIATION_VARIANCE),
                    "gl_accounts": dg.AssetIn("gl_accounts")},
    description="No account differs between subledger and G/L by more than the company's "
                "reconciliation_tolerance (settings.toml, default 0: any difference of half a "
                "rounding unit or more), in any month or over all time. Fails with "
                "reconciliation_severity (warn by default); the check is blocking, so at error "
                "the run fails. Metadata: the accounts, the months (with a plot) and the "
                "documents behind the differences.",
)
def within_tolerance(
    invrec_config: InvrecConfig, reconciliation: pl.DataFrame,
    reconciliation_variance: pl.DataFrame, gl_accounts: pl.DataFrame,
) -> dg.AssetCheckResult:
    return tolerance_result(reconciliation, reconciliation_variance, gl_accounts,
                            invrec_config.settings())


def tolerance_result(
    reconciliation: pl.DataFrame, variance: pl.DataFrame, gl_accounts: pl.DataFrame,
    settings: Settings,
) -> dg.AssetCheckResult:
    """Passed when every |difference| is within the tolerance (and below R147's zero when the
    tolerance is 0); fails with the configured severity, naming accounts, months and documents."""
    tolerance = settings.reconciliation_tolerance
    zero = settings.amount_rounding_precision / 2
    size = pl.col("difference").abs()
    over = reconciliation.filter((size > tolerance) & (size >= zero))
    accounts = by_account(reconciliation, gl_accounts)
    months = differences_by_month(reconciliation)
    over_accounts = over["account_no"].unique()
    top = top_differences(variance.filter(pl.col("account_no").is_in(over_accounts.implode())))
    return dg.AssetCheckResult(
        passed=over.height == 0,
        severity=SEVERITIES[settings.reconciliation_severity],
        description=(f"{over.height} account-period row(s) on {over_accounts.len()} account(s) "
                     f"differ by more than {tolerance:,.2f}" if over.height
                     else f"every difference is within {tolerance:,.2f}"),
        metadata={
            "tolerance": tolerance,
            "severity": settings.reconciliation_severity,
            "rows_over_tolerance": over.height,
            "accounts_over_tolerance": over_accounts.len(),
            "largest_difference": round(float(reconciliation["difference"].abs().max() or 0.0),
                                        2),
            **reconciliation_figures(reconciliation),
            "over_tolerance": _md(over.select(
                "period_end", "account_no", "account_role", "inventory_value", "gl_balance",
                "difference").sort(pl.col("difference").abs(), "period_end", "account_no",
                                   descending=[True, False, False], nulls_last=True),
                "_none_", 100),
            "by_account": _md(accounts, "_no accounts_", 100),
            "differences_by_month": _md(months, "_no months_", 100),
            "top_documents": _md(top, "_no differences_"),
        },
    )


ASSETS = [reconciliation_assets]
CHECKS = [
    differences_explained,
    within_tolerance,
]
