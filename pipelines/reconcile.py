"""Inventory subledger vs G/L per account and month, every difference explained (R140-R147)."""

from __future__ import annotations

import polars as pl

from pipelines.posting import ROLE_ORDER, setup_accounts, subledger_postings
from pipelines.rounding import round_to
from pipelines.settings import Settings
from schemas.base import columns
from schemas.gl import VARIANCE_CAUSES, Reconciliation, ReconciliationVariance

CELL = ["period_end", "account_no", "document_no"]
DOC = ["account_no", "document_no"]


def reconciled_accounts(
    inventory_posting_setup: pl.DataFrame, general_posting_setup: pl.DataFrame
) -> pl.DataFrame:
    """R140: (account_no, account_role) for every account in the setups, roles joined in order."""
    rank = pl.col("account_role").replace_strict(ROLE_ORDER, range(len(ROLE_ORDER)))
    return (
        setup_accounts(inventory_posting_setup, general_posting_setup)
        .filter(pl.col("account_no").is_not_null())
        .select("account_no", "account_role")
        .unique()
        .sort("account_no", rank)
        .group_by("account_no", maintain_order=True)
        .agg(pl.col("account_role").str.join(","))
    )


def reconcile(
    value_entries: pl.DataFrame,
    gl_entries: pl.DataFrame,
    inventory_posting_setup: pl.DataFrame,
    general_posting_setup: pl.DataFrame,
    settings: Settings,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """R140-R147: the reconciliation per account and month (+ all time) and its explained variance.

    The subledger side is the account mapping of posting (R142, `Xe` pairs always); the G/L side is
    `gl_entries` (input or our own) restricted to the reconciled accounts (R147).
    """
    precision = settings.amount_rounding_precision
    accounts = reconciled_accounts(inventory_posting_setup, general_posting_setup)
    month_end = pl.col("posting_date").dt.month_end().alias("period_end")
    subledger = subledger_postings(
        value_entries, inventory_posting_setup, general_posting_setup, include_expected=True,
        require_expected_accounts=settings.expected_cost_posting_to_gl, precision=precision,
        ordered=False,
        columns=["posting_date", "account_no", "document_no", "item_no", "amount", "pair"],
    ).select(
        month_end, "account_no", pl.col("document_no").fill_null(""), "item_no", "amount",
        expected=pl.when(pl.col("pair") == "Xe").then("amount").otherwise(0.0),
    )
    gl = gl_entries.select(
        pl.col("posting_date").cast(pl.Date),
        pl.col("account_no").cast(pl.String),
        pl.col("document_no").cast(pl.String).fill_null(""),
        pl.col("amount").cast(pl.Float64),
    ).filter(pl.col("account_no").is_in(accounts["account_no"].implode()))
    cells = _cells(subledger, gl.with_columns(month_end).drop("posting_date"), precision)
    months = _months(pl.concat([value_entries["posting_date"], gl["posting_date"]]))
    return (
        _reconciliation(cells, accounts, months, precision),
        _variance(cells, subledger, settings.expected_cost_posting_to_gl, precision),
    )


def _months(dates: pl.Series) -> pl.DataFrame:
    """R141: every calendar month from the earliest to the latest date, by its last day."""
    if dates.drop_nulls().is_empty():
        return pl.DataFrame(schema={"period_end": pl.Date})
    starts = pl.date_range(dates.min().replace(day=1), dates.max(), interval="1mo", eager=True)
    return pl.DataFrame({"period_end": starts.dt.month_end()})


def _cells(subledger: pl.DataFrame, gl: pl.DataFrame, precision: float) -> pl.DataFrame:
    """Subledger and G/L totals per (month, account, document) (R145): both sides stacked and
    grouped once, which is the full outer join of their totals without the join. Lazy: the
    eager group-by on three keys is about three times slower at a million documents."""
    zero = pl.lit(0.0)
    stacked = pl.concat([
        subledger.lazy().select(*CELL, S="amount", S_e="expected", G=zero,
                                s_rows=pl.lit(1, pl.UInt32), g_rows=pl.lit(0, pl.UInt32)),
        gl.lazy().select(*CELL, S=zero, S_e=zero, G="amount", s_rows=pl.lit(0, pl.UInt32),
                         g_rows=pl.lit(1, pl.UInt32)),
    ])
    return stacked.group_by(CELL).agg(
        *[round_to(pl.col(c).sum(), precision) for c in ("S", "S_e", "G")],
        pl.col("s_rows", "g_rows").sum(),
    ).collect()


def _reconciliation(cells: pl.DataFrame, accounts: pl.DataFrame, months: pl.DataFrame,
                    precision: float) -> pl.DataFrame:
    """R141-R143: movements per account and month, plus the all-time row (period_end null)."""
    per_month = cells.group_by("period_end", "account_no").agg(
        inventory_value=pl.col("S").sum(), gl_balance=pl.col("G").sum()
    )
    all_time = cells.group_by("account_no").agg(
        inventory_value=pl.col("S").sum(), gl_balance=pl.col("G").sum()
    )
    monthly = accounts.join(months, how="cross").join(
        per_month, on=["period_end", "account_no"], how="left"
    )
    total = accounts.join(all_time, on="account_no", how="left").with_columns(
        period_end=pl.lit(None, dtype=pl.Date)
    )
    amounts = [_signed_zero_free(round_to(pl.col(c).fill_null(0.0), precision)).alias(c)
               for c in ("inventory_value", "gl_balance")]
    return (
        pl.concat([monthly, total.select(monthly.columns)])
        .with_columns(amounts)
        .with_columns(
            difference=_signed_zero_free(
                round_to(pl.col("inventory_value") - pl.col("gl_balance"), precision))
        )
        .sort("account_no", "period_end", nulls_last=True)
        .select(columns(Reconciliation))
    )


def _variance(cells: pl.DataFrame, subledger: pl.DataFrame, expected_on: bool,
              precision: float) -> pl.DataFrame:
    """R145/R147: one row per (month, account, document, cause); a month's rows sum to its
    difference, a date moved across months gives cancelling posting_date_mismatch rows."""
    zero = precision / 2

    def nonzero(e: pl.Expr) -> pl.Expr:  # R147: below half a rounding unit is zero
        return e.abs() >= zero

    s_prime = pl.col("S") if expected_on else round_to(pl.col("S") - pl.col("S_e"), precision)
    cells = cells.with_columns(S1=s_prime)
    # Steps 2-4 only give rows in cells where S' and G differ: work on those documents only.
    differing = cells.filter(nonzero(pl.col("S1") - pl.col("G"))).select(DOC).unique()
    c = cells.join(differing, on=DOC, how="semi").with_columns(
        mapped=pl.col("s_rows").sum().over(DOC) > 0,  # some non-zero R142 amount on the account
        has_gl=pl.col("g_rows").sum().over(DOC) > 0,  # any G/L row at all, even of amount 0
        dates_only=~nonzero(round_to(pl.col("S1").sum().over(DOC) - pl.col("G").sum().over(DOC),
                                     precision)),
    )

    def rows(frame: pl.DataFrame, cond: pl.Expr, sub: pl.Expr, gl: pl.Expr,
             cause: pl.Expr | str) -> pl.DataFrame:
        return frame.filter(cond).select(
            *CELL, subledger_amount=sub, gl_amount=gl,
            cause=pl.lit(cause) if isinstance(cause, str) else cause,
        )

    mapped, has_gl = pl.col("mapped"), pl.col("has_gl")
    parts = [
        rows(c, mapped & ~has_gl & nonzero(pl.col("S1")), pl.col("S1"), pl.lit(0.0),
             "unposted_cost"),
        rows(c, ~mapped & has_gl & nonzero(pl.col("G")), pl.lit(0.0), pl.col("G"),
             "direct_posting"),
        rows(c, mapped & has_gl & nonzero(pl.col("S1") - pl.col("G")), pl.col("S1"), pl.col("G"),
             pl.when("dates_only").then(pl.lit("posting_date_mismatch"))
             .otherwise(pl.lit("amount_mismatch"))),
    ]
    if not expected_on:
        parts.insert(0, rows(cells, nonzero(pl.col("S_e")), pl.col("S_e"), pl.lit(0.0),
                             "expected_cost_setup"))
    found = pl.concat(parts)
    # the item of the document's value entries on the account, when there is exactly one
    items = (
        subledger.join(found.select(DOC).unique(), on=DOC, how="semi")
        .group_by(DOC)
        .agg(pl.col("item_no").min().alias("item_min"), pl.col("item_no").max().alias("item_max"))
        .select(*DOC, item_no=pl.when(pl.col("item_min") == pl.col("item_max")).then("item_min"))
    )
    return (
        found.join(items, on=DOC, how="left")
        .with_columns(
            difference=round_to(pl.col("subledger_amount") - pl.col("gl_amount"), precision),
            subledger_amount=_signed_zero_free(pl.col("subledger_amount")),
            gl_amount=_signed_zero_free(pl.col("gl_amount")),
        )
        .sort("account_no", "period_end", "document_no",
              pl.col("cause").replace_strict(VARIANCE_CAUSES, range(len(VARIANCE_CAUSES))))
        .with_columns(
            document_no=pl.when(pl.col("document_no") != "").then("document_no")  # "" -> null
        )
        .select(columns(ReconciliationVariance))
    )


def unexplained_differences(reconciliation: pl.DataFrame, variance: pl.DataFrame,
                            precision: float = 0.01) -> pl.DataFrame:
    """R156 check: reconciliation rows whose difference the variance rows do not sum to (all-time
    rows against all of the account's variance rows); empty when everything is explained."""
    explained = pl.col("difference").sum().alias("explained")
    monthly = variance.group_by("account_no", "period_end").agg(explained)
    all_time = variance.group_by("account_no").agg(explained)
    return (
        pl.concat([
            reconciliation.filter(pl.col("period_end").is_not_null())
            .join(monthly, on=["account_no", "period_end"], how="left"),
            reconciliation.filter(pl.col("period_end").is_null())
            .join(all_time, on="account_no", how="left")
            .select(*reconciliation.columns, "explained"),
        ])
        .with_columns(pl.col("explained").fill_null(0.0))
        .filter((pl.col("difference") - pl.col("explained")).abs() >= precision / 2)
    )


def _signed_zero_free(e: pl.Expr) -> pl.Expr:
    """-0.0 shown as 0.0 (polars keeps -0.0 through `+ 0.0`)."""
    return pl.when(e == 0).then(0.0).otherwise(e)
