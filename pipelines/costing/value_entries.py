"""Assembly of the value entries and item ledger entries tables (R20, R33, R47, R63, R150)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.costing.dates import move_to_allowed
from pipelines.costing.ledger import QTY_SCALE, invoices_of, reversed_expected, value_rows
from pipelines.rounding import cumulative_split, round_to
from pipelines.settings import Settings
from schemas.base import conform
from schemas.ledger import ItemApplicationEntry, ItemLedgerEntry, ValueEntry

# Fields every value entry takes from its item ledger entry and item (R20).
_FROM_ENTRY = [
    "item_no", "location_code", "variant_code", "inventory_posting_group",
    "gen_prod_posting_group",
]


def posted_value_entries(
    transactions: pl.DataFrame,
    entries: pl.DataFrame,
    source_values: pl.DataFrame,
    outbound: pl.DataFrame,
    inbound: pl.DataFrame,
    settings: Settings,
    revaluation_entries: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Value entries created by posting, numbered in transaction order (R33).

    Outbound entries carry their cost at posting (R25, R27); a sales invoice turns the expected
    cost it reverses into actual cost (R25).
    """
    p = settings.amount_rounding_precision
    out = entries.filter(~pl.col("inbound")).join(outbound, on="entry_no").rename(
        {"entry_no": "item_ledger_entry_no"})
    q, cost = pl.col("quantity"), -pl.col("cost_at_posting")
    shipped = out.filter(pl.col("type") == "sales_shipment")
    invoiced = out.filter(pl.col("type") != "sales_shipment")
    sales_invoice = invoices_of(transactions, "sales_invoice", entries).join(
        shipped.select("item_ledger_entry_no", cost.alias("shipment_expected")),
        on="item_ledger_entry_no",
    )
    reversed_cost = reversed_expected(pl.col("shipment_expected"), pl.col("entry_quantity"), p)
    revenue = pl.col("sales_amount").fill_null(0.0)
    received = entries.filter(pl.col("receiving")).join(
        inbound.select(pl.col("inbound").alias("entry_no"), "at_posting"), on="entry_no",
    ).rename({"entry_no": "item_ledger_entry_no"})
    rows = pl.concat([
        source_values,
        value_rows(invoiced, seq=0, entry_type="Direct Cost", item_ledger_entry_quantity=q,
                   valued_quantity=q, invoiced_quantity=q, cost_amount_actual=cost,
                   sales_amount_actual=pl.when(pl.col("type") == "sale").then(revenue)
                   .otherwise(0.0)),
        value_rows(received, seq=0, entry_type="Direct Cost", item_ledger_entry_quantity=q,
                   valued_quantity=q, invoiced_quantity=q, cost_amount_actual=pl.col("at_posting"),
                   sales_amount_actual=pl.when(pl.col("type") == "sales_return").then(-revenue)
                   .otherwise(0.0)),
        value_rows(shipped, seq=0, entry_type="Direct Cost", item_ledger_entry_quantity=q,
                   valued_quantity=q, cost_amount_expected=cost, expected_cost=True),
        value_rows(sales_invoice, seq=0, entry_type="Direct Cost", valued_quantity=-q,
                   invoiced_quantity=-q, cost_amount_actual=reversed_cost,
                   cost_amount_expected=-reversed_cost, sales_amount_actual=revenue),
        *([] if revaluation_entries is None else [revaluation_entries]),
    ], how="diagonal_relaxed")
    return (
        rows.sort("transaction_no", "seq", "item_ledger_entry_no")
        .with_columns(
            entry_no=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
            adjustment=pl.lit(False),
            applies_to_entry=pl.lit(None, dtype=pl.Int64),
        )
        .drop("seq")
    )


def adjustment_entries(
    posted: pl.DataFrame,
    targets: pl.DataFrame,
    rounding: pl.DataFrame,
    first_allowed: dt.date | None,
    settings: Settings,
) -> pl.DataFrame:
    """R62, R63, R76: adjustment entries bringing cost recipients to their targets, and Rounding.

    A target is split over the entry's invoice entries by invoiced quantity (R3, W = |q|); the rest
    is the expected part, adjusted on the entry's first value entry.
    """
    p = settings.amount_rounding_precision
    # the entry's first value entry is the one its own transaction posted: the only one carrying
    # the item ledger entry's quantity (R33, R170.3)
    first = posted.filter(pl.col("item_ledger_entry_quantity") != 0).with_columns(
        entry_quantity=pl.col("item_ledger_entry_quantity").abs())
    quantity = first.select("item_ledger_entry_no", "entry_quantity")
    targets = targets.rename({"entry_no": "item_ledger_entry_no"})
    invoice = (
        posted.filter(pl.col("invoiced_quantity") != 0)
        .join(targets, on="item_ledger_entry_no")
        .join(quantity, on="item_ledger_entry_no")
        .sort("item_ledger_entry_no", "entry_no")
        .with_columns(target_actual=cumulative_split(
            pl.col("target"), pl.col("invoiced_quantity").abs(), pl.col("entry_quantity"), p,
            over="item_ledger_entry_no"))
    )
    actual = invoice.with_columns(
        cost_amount_actual=round_to(pl.col("target_actual") - pl.col("cost_amount_actual"), p),
        cost_amount_expected=pl.lit(0.0), entry_type=pl.lit("Direct Cost"),
        expected_cost=pl.lit(False), kind=pl.lit(1),
    )
    sums = posted.join(targets, on="item_ledger_entry_no", how="semi").group_by(
        "item_ledger_entry_no").agg(posted_expected=pl.col("cost_amount_expected").sum())
    expected = (
        first.join(targets, on="item_ledger_entry_no")
        .join(sums, on="item_ledger_entry_no")
        .join(invoice.group_by("item_ledger_entry_no").agg(pl.col("target_actual").sum()),
              on="item_ledger_entry_no", how="left")
        .with_columns(
            cost_amount_expected=round_to(
                pl.col("target") - pl.col("target_actual").fill_null(0.0)
                - pl.col("posted_expected"), p),
            cost_amount_actual=pl.lit(0.0), entry_type=pl.lit("Direct Cost"),
            expected_cost=pl.lit(True), kind=pl.lit(0),
        )
    )
    last_invoice = (
        posted.filter((pl.col("invoiced_quantity") != 0) & (pl.col("entry_type") == "Direct Cost"))
        .join(rounding, left_on="item_ledger_entry_no", right_on="entry_no", how="semi")
        .group_by("item_ledger_entry_no").agg(pl.all().sort_by("entry_no").last())
    )
    rounding_rows = (
        last_invoice.join(rounding.rename({"amount": "rounding"}),
                          left_on="item_ledger_entry_no", right_on="entry_no")
        .join(quantity, on="item_ledger_entry_no")
        .with_columns(
            cost_amount_actual=pl.col("rounding"), cost_amount_expected=pl.lit(0.0),
            entry_type=pl.lit("Rounding"), expected_cost=pl.lit(False), kind=pl.lit(2),
            valued_quantity=pl.col("entry_quantity"),  # R33: the (inbound) entry's quantity
        )
    )
    cols = ["item_ledger_entry_no", "entry_type", "kind", "entry_no", "posting_date",
            "document_no", "gen_bus_posting_group", "valued_quantity", "cost_amount_actual",
            "cost_amount_expected", "expected_cost"]
    return (
        pl.concat([expected.select(cols), actual.select(cols), rounding_rows.select(cols)])
        .filter((pl.col("cost_amount_actual") != 0) | (pl.col("cost_amount_expected") != 0))
        .rename({"entry_no": "applies_to_entry"})
        .sort("item_ledger_entry_no", "applies_to_entry", "kind")
        .with_columns(
            entry_no=pl.int_range(1, pl.len() + 1, dtype=pl.Int64) + posted.height,
            transaction_no=pl.lit(None, dtype=pl.Int64),
            posting_date=move_to_allowed(pl.col("posting_date"), first_allowed),  # R111
            adjustment=pl.lit(True),
            item_ledger_entry_quantity=pl.lit(0.0),
            invoiced_quantity=pl.lit(0.0),
            sales_amount_actual=pl.lit(0.0),
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
                             pl.col("entry_type").alias("item_ledger_entry_type"), *_FROM_ENTRY,
                             # R93: outbounds of AVERAGE items without a fixed application
                             valued_by_average_cost=(pl.col("costing_method") == "AVERAGE")
                             & ~pl.col("inbound") & pl.col("applies_to_entry").is_null()),
              on="item_ledger_entry_no", how="left")
        .join(valuation_dates.rename({"valuation_date": "entry_valuation_date"}),
              on="item_ledger_entry_no", how="left")
        .with_columns(  # Revaluation entries keep their own date (R92)
            valuation_date=pl.coalesce("valuation_date", "entry_valuation_date")
            if "valuation_date" in posted.columns else pl.col("entry_valuation_date"))
        .sort("entry_no")
        .with_columns(
            cost_per_unit=round_to(cost_per_unit, settings.unit_amount_rounding_precision),
            cost_posted_to_gl=pl.lit(0.0),
            expected_cost_posted_to_gl=pl.lit(0.0),
        ),
        ValueEntry,
    )


def item_ledger_entries_table(entries: pl.DataFrame, applications: pl.DataFrame,
                              value_entries: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """R12, R150: quantities from the applications, amounts summed over the value entries (and
    rounded again: a sum of rounded floats is not always the float of the rounded sum)."""
    p = settings.amount_rounding_precision
    applied_in = applications.group_by(pl.col("inbound").alias("entry_no")).agg(
        applied_in=pl.col("units").sum())
    applied_out = applications.group_by(pl.col("outbound").alias("entry_no")).agg(
        applied_out=pl.col("units").sum())
    sums = value_entries.group_by(pl.col("item_ledger_entry_no").alias("entry_no")).agg(
        pl.col("invoiced_quantity").sum(),
        *(round_to(pl.col(c).sum(), p) for c in
          ("cost_amount_expected", "cost_amount_actual", "sales_amount_actual")),
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
    """R47: one row per inbound entry, one per (outbound, inbound) quantity application."""
    dates = entries.select("entry_no", "posting_date")
    # a cost source's own row; a cost-receiving inbound's row names its source (cost application)
    own = entries.filter(pl.col("inbound")).select(
        pl.col("entry_no").alias("item_ledger_entry_no"),
        pl.col("entry_no").alias("inbound_item_entry_no"),
        pl.col("source_entry").alias("outbound_item_entry_no"),
        "quantity", "posting_date", pl.col("receiving").alias("cost_application"),
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
