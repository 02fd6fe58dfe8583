"""Cost at posting and Adjust Cost for FIFO and SPECIFIC items (R50-R53, R60-R63, R70-R77, R92).

Costs flow along quantity applications only (R75): an outbound's target is minus the shares it
received from the inbound entries applied to it (R71, R72); an inbound that is closed and completely
invoiced gets a Rounding entry so its value is exactly what it forwarded (R76).
"""

from __future__ import annotations

import polars as pl

from pipelines.costing.ledger import QTY_SCALE
from pipelines.rounding import round_to
from pipelines.settings import Settings


def _known_value(source_values: pl.DataFrame, asks: pl.DataFrame) -> pl.Series:
    """R50: an inbound's value from its entries created by transactions before the asking one.

    `asks` has columns inbound, ask_tx; the result is aligned with its rows.
    """
    running = (
        source_values.group_by("item_ledger_entry_no", "transaction_no")
        .agg(pl.col("cost_amount_actual").sum())
        .sort("transaction_no")
        .with_columns(known=pl.col("cost_amount_actual").cum_sum().over("item_ledger_entry_no"))
        .select(pl.col("item_ledger_entry_no").alias("inbound"), "transaction_no", "known")
    )
    return (
        asks.with_row_index("_row").sort("ask_tx")
        .join_asof(running, left_on="ask_tx", right_on="transaction_no", by="inbound",
                   strategy="backward", allow_exact_matches=False, check_sortedness=False)
        .sort("_row")
        .get_column("known")
        .fill_null(0.0)
    )


def outbound_costs(
    entries: pl.DataFrame,
    source_values: pl.DataFrame,
    applications: pl.DataFrame,
    settings: Settings,
) -> pl.DataFrame:
    """Per outbound entry: cost at posting C (R51), target T (R72), valuation date (R92).

    Columns: entry_no, cost_at_posting (>= 0 magnitude as posted), target (signed, <= 0 for a
    positive cost), valuation_date.
    """
    p = settings.amount_rounding_precision
    inbound = entries.filter(pl.col("inbound")).select(
        pl.col("entry_no").alias("inbound"), pl.col("quantity").alias("q_in"),
        pl.col("posting_date").alias("in_date"),
    )
    base = source_values.group_by(pl.col("item_ledger_entry_no").alias("inbound")).agg(
        base=pl.col("cost_amount_actual").sum()
    )
    outbound = entries.filter(~pl.col("inbound")).select(
        pl.col("entry_no").alias("outbound"), "transaction_no", "key_id", "units",
        "posting_date", "applies_to_entry",
    )
    apps = (
        applications.join(inbound, on="inbound")
        .join(base, on="inbound", how="left")
        .join(outbound.select("outbound", pl.col("transaction_no").alias("ask_tx")), on="outbound")
        .with_columns(a=pl.col("units") / QTY_SCALE, base=pl.col("base").fill_null(0.0))
    )
    apps = apps.with_columns(
        known=_known_value(source_values, apps.select("inbound", "ask_tx")),
    ).with_columns(
        share=round_to(pl.col("a") * pl.col("base") / pl.col("q_in"), p),
        at_posting_cost=pl.when(pl.col("at_posting"))
        .then(round_to(pl.col("a") * pl.col("known") / pl.col("q_in"), p))
        .otherwise(0.0),
    )
    per_out = apps.group_by("outbound").agg(
        applied=pl.col("units").sum(),
        applied_at_posting=pl.col("units").filter(pl.col("at_posting")).sum(),
        shares=pl.col("share").sum(),
        at_posting_cost=pl.col("at_posting_cost").sum(),
        in_date=pl.col("in_date").max(),
    )
    # R51: u0 = known unit cost of the key's last inbound entry posted before the outbound.
    last_inbound = (
        entries.filter(pl.col("inbound"))
        .select("key_id", pl.col("entry_no").alias("u0_entry"), pl.col("quantity").alias("u0_q"))
        .sort("key_id", "u0_entry")
    )
    out = (
        outbound.sort("key_id", "outbound")
        .join_asof(last_inbound, left_on="outbound", right_on="u0_entry", by="key_id",
                   strategy="backward", allow_exact_matches=False, check_sortedness=False)
        .join(per_out, on="outbound", how="left")
        .with_columns(pl.col("applied", "applied_at_posting").fill_null(0),
                      pl.col("shares", "at_posting_cost").fill_null(0.0))
        .sort("outbound")
    )
    u0_value = _known_value(
        source_values,
        out.select(pl.col("u0_entry").alias("inbound"), pl.col("transaction_no").alias("ask_tx")),
    )
    u0 = pl.when(pl.col("u0_q") > 0).then(pl.col("u0_value") / pl.col("u0_q")).otherwise(0.0)
    return out.with_columns(u0_value=u0_value).select(
        pl.col("outbound").alias("entry_no"),
        (pl.col("at_posting_cost")
         + round_to((pl.col("units") - pl.col("applied_at_posting")) / QTY_SCALE * u0, p)
         ).alias("cost_at_posting"),
        (-pl.col("shares")
         - round_to((pl.col("units") - pl.col("applied")) / QTY_SCALE * u0, p)).alias("target"),
        pl.max_horizontal("posting_date", "in_date").alias("valuation_date"),
    )


def rounding_amounts(
    entries: pl.DataFrame,
    source_values: pl.DataFrame,
    applications: pl.DataFrame,
    settings: Settings,
) -> pl.DataFrame:
    """R76: closed, completely invoiced inbound entries get Σ share − base when non-zero.

    Columns: entry_no, amount.
    """
    p = settings.amount_rounding_precision
    base = source_values.group_by(pl.col("item_ledger_entry_no").alias("entry_no")).agg(
        base=pl.col("cost_amount_actual").sum()
    )
    inbound = entries.filter(pl.col("inbound")).select("entry_no", "units", "quantity")
    forwarded = (
        applications.join(inbound.rename({"entry_no": "inbound", "units": "q_units"}),
                          on="inbound")
        .join(base.rename({"entry_no": "inbound"}), on="inbound")
        .group_by(pl.col("inbound").alias("entry_no"))
        .agg(
            applied=pl.col("units").sum(),
            shares=round_to(pl.col("units") / QTY_SCALE * pl.col("base") / pl.col("quantity"),
                            p).sum(),
        )
    )
    return (
        inbound.join(forwarded, on="entry_no").join(base, on="entry_no")
        .filter(pl.col("applied") == pl.col("units"))
        .select("entry_no", amount=round_to(pl.col("shares") - pl.col("base"), p))
        .filter(pl.col("amount") != 0)
    )
