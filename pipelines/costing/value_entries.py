"""Assembly of the value entries and item ledger entries tables (R20, R33, R47, R63, R150)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.costing.dates import move_to_allowed
from pipelines.costing.ledger import QTY_SCALE
from pipelines.rounding import round_to
from pipelines.settings import Settings
from schemas.base import conform
from schemas.ledger import ItemApplicationEntry, ItemLedgerEntry, ValueEntry

# Fields every value entry takes from its item ledger entry and item (R20).
_FROM_ENTRY = [
    "item_no", "location_code", "variant_code", "inventory_posting_group",
    "gen_prod_posting_group",
]


def posted_value_entries(
    entries: pl.DataFrame, source_values: pl.DataFrame, outbound: pl.DataFrame
) -> pl.DataFrame:
    """Value entries created by posting, numbered in transaction order (R33)."""
    out_entries = entries.filter(~pl.col("inbound")).join(outbound, on="entry_no").select(
        pl.col("entry_no").alias("item_ledger_entry_no"), "transaction_no", pl.lit(0).alias("seq"),
        pl.lit("Direct Cost").alias("entry_type"), "posting_date", "document_no",
        "gen_bus_posting_group", "item_charge_no",
        pl.col("quantity").alias("item_ledger_entry_quantity"),
        pl.col("quantity").alias("valued_quantity"),
        pl.col("quantity").alias("invoiced_quantity"),
        (-pl.col("cost_at_posting")).alias("cost_amount_actual"),
        # R25: the revenue of a sale; other outbounds have none
        pl.when(pl.col("type") == "sale").then(pl.col("sales_amount").fill_null(0.0))
        .otherwise(0.0).alias("sales_amount_actual"),
    )
    return (
        pl.concat([source_values.with_columns(sales_amount_actual=pl.lit(0.0)), out_entries],
                  how="vertical_relaxed")
        .sort("transaction_no", "seq", "item_ledger_entry_no")
        .with_columns(
            entry_no=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
            adjustment=pl.lit(False),
            applies_to_entry=pl.lit(None, dtype=pl.Int64),
            cost_amount_expected=pl.lit(0.0),
            expected_cost=pl.lit(False),
        )
        .drop("seq")
    )


def adjustment_entries(
    posted: pl.DataFrame,
    outbound: pl.DataFrame,
    rounding: pl.DataFrame,
    first_allowed: dt.date | None,
    settings: Settings,
) -> pl.DataFrame:
    """R63, R76: adjustment entries for outbound targets and Rounding entries of inbounds."""
    p = settings.amount_rounding_precision
    # Outbounds in this slice are completely invoiced: one invoice entry carries all of T (R62).
    invoice = posted.filter(pl.col("invoiced_quantity") != 0)
    actual = (
        invoice.join(outbound, left_on="item_ledger_entry_no", right_on="entry_no")
        .with_columns(cost_amount_actual=round_to(
            pl.col("target") - pl.col("cost_amount_actual"), p),
            entry_type=pl.lit("Direct Cost"), kind=pl.lit(1))
    )
    last_invoice = (
        invoice.filter(pl.col("entry_type") == "Direct Cost")
        .group_by("item_ledger_entry_no").agg(pl.all().sort_by("entry_no").last())
    )
    rounding_rows = last_invoice.join(
        rounding.rename({"amount": "rounding"}), left_on="item_ledger_entry_no",
        right_on="entry_no",
    ).with_columns(cost_amount_actual=pl.col("rounding"), entry_type=pl.lit("Rounding"),
                   kind=pl.lit(2),
                   valued_quantity=pl.col("item_ledger_entry_quantity"))
    cols = ["item_ledger_entry_no", "entry_type", "kind", "entry_no", "posting_date",
            "document_no", "gen_bus_posting_group", "valued_quantity", "cost_amount_actual"]
    return (
        pl.concat([actual.select(cols), rounding_rows.select(cols)])
        .filter(pl.col("cost_amount_actual") != 0)
        .rename({"entry_no": "applies_to_entry"})
        .sort("item_ledger_entry_no", "applies_to_entry", "kind")
        .with_columns(
            entry_no=pl.int_range(1, pl.len() + 1, dtype=pl.Int64) + posted.height,
            transaction_no=pl.lit(None, dtype=pl.Int64),
            posting_date=move_to_allowed(pl.col("posting_date"), first_allowed),  # R111
            adjustment=pl.lit(True),
            item_ledger_entry_quantity=pl.lit(0.0),
            invoiced_quantity=pl.lit(0.0),
            cost_amount_expected=pl.lit(0.0),
            sales_amount_actual=pl.lit(0.0),
            expected_cost=pl.lit(False),
            item_charge_no=pl.lit(None, dtype=pl.String),
        )
        .drop("kind")
    )


def value_entries_table(
    entries: pl.DataFrame,
    posted: pl.DataFrame,
    adjustments: pl.DataFrame,
    valuation_dates: pl.DataFrame,
    settings: Settings,
) -> pl.DataFrame:
    """Every value entry with the fields of R20 and R33, in entry number order."""
    value = pl.col("cost_amount_actual") + pl.col("cost_amount_expected")
    cost_per_unit = (
        pl.when(pl.col("invoiced_quantity") != 0)
        .then(pl.col("cost_amount_actual") / pl.col("invoiced_quantity"))
        .when(pl.col("valued_quantity") != 0).then(value / pl.col("valued_quantity"))
        .otherwise(0.0)
    )
    return conform(
        pl.concat([posted, adjustments], how="diagonal_relaxed")
        .join(entries.select(pl.col("entry_no").alias("item_ledger_entry_no"),
                             pl.col("entry_type").alias("item_ledger_entry_type"), *_FROM_ENTRY),
              on="item_ledger_entry_no", how="left")
        .join(valuation_dates, on="item_ledger_entry_no", how="left")
        .sort("entry_no")
        .with_columns(
            cost_per_unit=round_to(cost_per_unit, settings.unit_amount_rounding_precision),
            valued_by_average_cost=pl.lit(False),
            cost_posted_to_gl=pl.lit(0.0),
            expected_cost_posted_to_gl=pl.lit(0.0),
        ),
        ValueEntry,
    )


def item_ledger_entries_table(entries: pl.DataFrame, applications: pl.DataFrame,
                              value_entries: pl.DataFrame) -> pl.DataFrame:
    """R12, R150: quantities from the applications, amounts summed over the value entries."""
    applied_in = applications.group_by(pl.col("inbound").alias("entry_no")).agg(
        applied_in=pl.col("units").sum())
    applied_out = applications.group_by(pl.col("outbound").alias("entry_no")).agg(
        applied_out=pl.col("units").sum())
    sums = value_entries.group_by(pl.col("item_ledger_entry_no").alias("entry_no")).agg(
        pl.col("invoiced_quantity", "cost_amount_expected", "cost_amount_actual",
               "sales_amount_actual").sum()
    )
    remaining_units = (
        pl.when(pl.col("inbound"))
        .then(pl.col("units") - pl.col("applied_in").fill_null(0))
        .otherwise(-(pl.col("units") - pl.col("applied_out").fill_null(0)))
    )
    return conform(
        entries.join(applied_in, on="entry_no", how="left")
        .join(applied_out, on="entry_no", how="left")
        .join(sums, on="entry_no", how="left")
        .with_columns(remaining_quantity=remaining_units / QTY_SCALE)
        .with_columns(open=pl.col("remaining_quantity") != 0)
        .sort("entry_no"),
        ItemLedgerEntry,
    )


def application_entries_table(entries: pl.DataFrame, applications: pl.DataFrame) -> pl.DataFrame:
    """R47: one row per inbound cost source, one per (outbound, inbound) quantity application."""
    dates = entries.select("entry_no", "posting_date")
    own = entries.filter(pl.col("inbound")).select(
        pl.col("entry_no").alias("item_ledger_entry_no"),
        pl.col("entry_no").alias("inbound_item_entry_no"),
        pl.lit(None, dtype=pl.Int64).alias("outbound_item_entry_no"),
        "quantity", "posting_date", pl.lit(False).alias("cost_application"),
    )
    applied = applications.with_columns(
        later=pl.max_horizontal("inbound", "outbound")
    ).join(dates, left_on="later", right_on="entry_no").select(
        pl.col("outbound").alias("item_ledger_entry_no"),
        pl.col("inbound").alias("inbound_item_entry_no"),
        pl.col("outbound").alias("outbound_item_entry_no"),
        (-pl.col("units") / QTY_SCALE).alias("quantity"),
        "posting_date", pl.lit(False).alias("cost_application"),
    )
    return conform(
        pl.concat([own, applied]).sort("item_ledger_entry_no", "inbound_item_entry_no"),
        ItemApplicationEntry,
    )
