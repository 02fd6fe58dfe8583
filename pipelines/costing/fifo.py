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


def inbound_base(entries: pl.DataFrame, source_values: pl.DataFrame) -> pl.DataFrame:
    """R70: per inbound entry its quantity, posting date and base B (every cost entry on it)."""
    base = source_values.group_by(pl.col("item_ledger_entry_no").alias("inbound")).agg(
        base=(pl.col("cost_amount_actual") + pl.col("cost_amount_expected")).sum()
    )
    return (
        entries.filter(pl.col("inbound"))
        .select(pl.col("entry_no").alias("inbound"), pl.col("quantity").alias("q_in"),
                pl.col("units").alias("q_units"), pl.col("posting_date").alias("in_date"),
                pl.col("transaction_no").alias("in_tx"))
        .join(base, on="inbound", how="left")
        .with_columns(pl.col("base").fill_null(0.0))
    )


def _known_value(asks: pl.DataFrame, source_values: pl.DataFrame) -> pl.Expr:
    """R50: adds `known`, an inbound's value from entries created before the asking transaction.

    `asks` has columns inbound, base, ask_tx. Only entries posted after the inbound itself (item
    charges) can be unknown to an outbound, so: known = base - Σ later entries not yet posted.
    """
    later = (
        source_values.join(
            asks.select("inbound").unique(), left_on="item_ledger_entry_no", right_on="inbound",
            how="semi",
        )
        .group_by(pl.col("item_ledger_entry_no").alias("inbound"), "transaction_no")
        .agg(value=(pl.col("cost_amount_actual") + pl.col("cost_amount_expected")).sum())
        .sort("inbound", "transaction_no", descending=[False, True])
        .with_columns(not_yet=pl.col("value").cum_sum().over("inbound"))
        .sort("inbound", "transaction_no")
        .select("inbound", "transaction_no", "not_yet")
    )
    asked = asks.with_row_index("_row").sort("inbound", "ask_tx").join_asof(
        later, left_on="ask_tx", right_on="transaction_no", by="inbound", strategy="forward",
        allow_exact_matches=False, check_sortedness=False,
    )
    return asked.sort("_row").select(
        pl.col("base") - pl.col("not_yet").fill_null(0.0)).to_series()


def outbound_costs(
    entries: pl.DataFrame,
    source_values: pl.DataFrame,
    applications: pl.DataFrame,
    settings: Settings,
) -> pl.DataFrame:
    """Per outbound entry: cost at posting C (R51), target T (R72), valuation date (R92).

    Columns: entry_no, cost_at_posting (the cost magnitude posted), target (signed value the entry
    must end at), valuation_date.
    """
    p = settings.amount_rounding_precision
    inbound = inbound_base(entries, source_values)
    # invoices and charges posted after an inbound were unknown to outbounds posted before them
    charged = source_values.join(inbound, left_on="item_ledger_entry_no", right_on="inbound")
    charged = charged.filter(pl.col("transaction_no") > pl.col("in_tx")).select(
        pl.col("item_ledger_entry_no").alias("inbound")).unique()
    tx_of = entries.select(pl.col("entry_no").alias("outbound"),
                           pl.col("transaction_no").alias("ask_tx"))
    apps = applications.join(inbound, on="inbound").join(tx_of, on="outbound")
    apps = apps.with_columns(known=pl.col("base"))
    late = apps.join(charged, on="inbound", how="semi")
    if late.height:
        apps = pl.concat([
            apps.join(charged, on="inbound", how="anti"),
            late.with_columns(known=_known_value(late, source_values)),
        ])
    a = pl.col("units") / QTY_SCALE
    per_out = apps.with_columns(
        share=round_to(a * pl.col("base") / pl.col("q_in"), p),  # R71
        posted=pl.when(pl.col("at_posting"))
        .then(round_to(a * pl.col("known") / pl.col("q_in"), p)).otherwise(0.0),
    ).group_by(pl.col("outbound").alias("entry_no")).agg(
        applied=pl.col("units").sum(),
        applied_at_posting=pl.col("units").filter(pl.col("at_posting")).sum(),
        shares=pl.col("share").sum(),
        posted=pl.col("posted").sum(),
        in_date=pl.col("in_date").max(),
    )
    # R51: u0 = known unit cost of the key's last inbound entry posted before the outbound
    out = (
        entries.with_columns(
            inbound=pl.when(pl.col("inbound")).then(pl.col("entry_no"))
            .forward_fill().over("key_id"))
        .filter(pl.col("sign") < 0)
        .select("entry_no", "inbound", "units", "posting_date",
                pl.col("transaction_no").alias("ask_tx"))
        .join(inbound.select("inbound", "base", "q_in"), on="inbound", how="left")
        .join(per_out, on="entry_no", how="left")
        .with_columns(pl.col("applied", "applied_at_posting").fill_null(0),
                      pl.col("shares", "posted").fill_null(0.0),
                      pl.col("base").alias("known"))
    )
    late = out.join(charged, on="inbound", how="semi")
    if late.height:
        out = pl.concat([
            out.join(charged, on="inbound", how="anti"),
            late.with_columns(known=_known_value(late, source_values)),
        ])
    u0 = pl.when(pl.col("q_in") > 0).then(pl.col("known") / pl.col("q_in")).otherwise(0.0)
    return out.select(
        "entry_no",
        (pl.col("posted")
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
    inbound = inbound_base(entries, source_values)
    forwarded = (
        applications.join(inbound, on="inbound")
        .group_by("inbound")
        .agg(
            applied=pl.col("units").sum(),
            shares=round_to(pl.col("units") / QTY_SCALE * pl.col("base") / pl.col("q_in"),
                            p).sum(),
        )
    )
    invoiced = source_values.group_by(pl.col("item_ledger_entry_no").alias("inbound")).agg(
        invoiced=pl.col("invoiced_quantity").sum())
    return (
        inbound.join(forwarded, on="inbound").join(invoiced, on="inbound")
        .filter((pl.col("applied") == pl.col("q_units"))
                & ((pl.col("invoiced") - pl.col("q_in")).abs() < 0.5 / QTY_SCALE))
        .select(pl.col("inbound").alias("entry_no"),
                amount=round_to(pl.col("shares") - pl.col("base"), p))
        .filter(pl.col("amount") != 0)
    )
