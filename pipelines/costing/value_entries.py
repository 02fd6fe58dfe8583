"""Assembly of the value entries and item ledger entries tables (R20, R33, R47, R63, R150)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.costing.by_entry import at_entry_no, positions, sums_per_entry
from pipelines.costing.dates import move_to_allowed
from pipelines.costing.ledger import (
    TRANSACTION_TEXTS,
    invoices_of,
    quantity_of,
    units_of,
    value_rows,
    with_reversed_expected,
)
from pipelines.frames import sort_ints, where
from pipelines.rounding import (
    decimals_of,
    exact_near_ties,
    round_quotient,
    round_to,
    with_cumulative_split,
)
from pipelines.settings import Settings
from schemas.base import Code, columns, conform
from schemas.inputs import QUANTITY_DECIMALS
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
    ile = "item_ledger_entry_no"
    # what the cost adjustment found per item ledger entry, by entry number (dense): a gather
    cost = at_entry_no(
        pl.concat([outbound.get_column("entry_no"), inbound.get_column("inbound")]),
        pl.concat([outbound.get_column("cost_at_posting"), inbound.get_column("at_posting")]),
        entries.height).fill_null(0.0)
    posting = ["transaction_no", "posting_date", "quantity", "type", "sales_amount"]
    out = where(entries, ~pl.col("inbound"), pl.col("entry_no").alias(ile), *posting,
                cost_at_posting=pl.lit(cost).gather(pl.col("entry_no") - 1))
    q, cost_out = pl.col("quantity"), -pl.col("cost_at_posting")
    shipped = out.filter(pl.col("type") == "sales_shipment")
    invoiced = out.filter(pl.col("type") != "sales_shipment")
    # a sales invoice names a shipment (R160): its expected cost, by entry number
    sales_invoice = invoices_of(transactions, "sales_invoice", entries).pipe(
        with_reversed_expected, -pl.lit(cost).gather(pl.col(ile) - 1), p)
    reversed_cost = pl.col("reversed")
    revenue = pl.col("sales_amount").fill_null(0.0)
    received = where(entries, pl.col("receiving"), pl.col("entry_no").alias(ile), *posting,
                     at_posting=pl.lit(cost).gather(pl.col("entry_no") - 1))
    rows = pl.concat([
        source_values,
        value_rows(invoiced, seq=0, entry_type="Direct Cost", item_ledger_entry_quantity=q,
                   valued_quantity=q, invoiced_quantity=q, cost_amount_actual=cost_out,
                   sales_amount_actual=pl.when(pl.col("type") == "sale").then(revenue)
                   .otherwise(0.0)),
        value_rows(received, seq=0, entry_type="Direct Cost", item_ledger_entry_quantity=q,
                   valued_quantity=q, invoiced_quantity=q, cost_amount_actual=pl.col("at_posting"),
                   sales_amount_actual=pl.when(pl.col("type") == "sales_return").then(-revenue)
                   .otherwise(0.0)),
        value_rows(shipped, seq=0, entry_type="Direct Cost", item_ledger_entry_quantity=q,
                   valued_quantity=q, cost_amount_expected=cost_out, expected_cost=True),
        value_rows(sales_invoice, seq=0, entry_type="Direct Cost", valued_quantity=-q,
                   invoiced_quantity=-q, cost_amount_actual=reversed_cost,
                   cost_amount_expected=-reversed_cost, sales_amount_actual=revenue),
        *([] if revaluation_entries is None else [revaluation_entries]),
    ], how="diagonal_relaxed")
    del out, shipped, invoiced, sales_invoice, received  # copied into rows: not beside its sort
    rows = sort_ints(rows, "transaction_no", "seq", "item_ledger_entry_no")
    # each row's texts are its transaction's (R20): a gather in nearly rising order, by the
    # row of its transaction number (0.1-0.3 s at 10M, a binary search per row 0.75 s)
    of_tx = positions(transactions.get_column("transaction_no"), rows.get_column("transaction_no"))
    return (
        rows.with_columns(
            *transactions.select(TRANSACTION_TEXTS)[of_tx].get_columns(),
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
    ile = "item_ledger_entry_no"
    n = posted.get_column(ile).max() or 0
    # the rows are worked on a few numeric columns and a pointer into `posted`; the text fields
    # are gathered at the end for the rows that adjust (most entries are at their target)
    row = pl.int_range(pl.len(), dtype=pl.UInt32).alias("row")
    cols = ["row", ile, "entry_no", "valued_quantity", "cost_amount_actual"]
    # Per item ledger entry, in arrays indexed by its (dense) number rather than hash joins: its
    # target, and its quantity from its first value entry, the one its own transaction posted
    # and the only one carrying the item ledger entry's quantity (R33, R170.3).
    first = where(posted, pl.col("item_ledger_entry_quantity") != 0, *cols[1:], row,
                  "item_ledger_entry_quantity")
    per_entry = pl.DataFrame([
        at_entry_no(targets.get_column("entry_no"), targets.get_column("target"), n),
        at_entry_no(first.get_column(ile), first.get_column("item_ledger_entry_quantity").abs(),
                    n).alias("entry_quantity").fill_null(0.0),
    ])

    def with_target(frame: pl.DataFrame) -> pl.DataFrame:
        """The rows of entries that have a target, with it and the entry's quantity."""
        return frame.with_columns(per_entry[frame.get_column(ile) - 1]).filter(
            pl.col("target").is_not_null())

    invoiced = where(posted, pl.col("invoiced_quantity") != 0, *cols[1:], row,
                     "invoiced_quantity", direct=pl.col("entry_type") == "Direct Cost")
    # by entry, then entry_no: posted is in entry_no order
    invoice = with_cumulative_split(
        with_target(invoiced).sort(ile, maintain_order=True), "target_actual", pl.col("target"),
        units_of(pl.col("invoiced_quantity").abs()), units_of(pl.col("entry_quantity")), p,
        over=ile)
    actual = invoice.with_columns(
        cost_amount_actual=round_to(pl.col("target_actual") - pl.col("cost_amount_actual"), p),
        cost_amount_expected=pl.lit(0.0), kind=pl.lit(1),
    )
    sums = pl.concat([  # each read where it is, not copied into one frame first
        sums_per_entry(posted.get_column(ile), posted.select(
            posted_expected="cost_amount_expected"), n),
        sums_per_entry(invoice.get_column(ile), invoice.select("target_actual"), n),
    ], how="horizontal")
    expected = with_target(first.select(cols))
    expected = expected.with_columns(sums[expected.get_column(ile) - 1]).with_columns(
        cost_amount_expected=round_to(
            pl.col("target") - pl.col("target_actual") - pl.col("posted_expected"), p),
        cost_amount_actual=pl.lit(0.0), kind=pl.lit(0),
    )
    # R76 on the entry's last invoiced Direct Cost entry (posted is in entry_no order)
    rounding_rows = (
        invoiced.filter("direct").select(cols[:-1])
        .join(rounding.select(pl.col("entry_no").alias(ile), "amount"), on=ile,
              maintain_order="left")
        .unique(ile, keep="last", maintain_order=True)
        .with_columns(
            cost_amount_actual=pl.col("amount"), cost_amount_expected=pl.lit(0.0), kind=pl.lit(2),
            # R33: the (inbound) entry's quantity
            valued_quantity=pl.lit(per_entry.get_column("entry_quantity")).gather(
                pl.col(ile) - 1),
        )
    )
    moves = (pl.col("cost_amount_actual") != 0) | (pl.col("cost_amount_expected") != 0)
    adjusting = (
        pl.concat([where(frame, moves, *cols, "cost_amount_expected", "kind")
                   for frame in (expected, actual, rounding_rows)])
        .sort(ile, "entry_no", "kind")
    )
    texts = posted.select("posting_date", "document_no", "gen_bus_posting_group")
    return (
        adjusting.with_columns(texts[adjusting.get_column("row")])
        .rename({"entry_no": "applies_to_entry"})
        .with_columns(
            entry_type=pl.when(pl.col("kind") == 2).then(pl.lit("Rounding", dtype=Code))
            .otherwise(pl.lit("Direct Cost", dtype=Code)),
            expected_cost=pl.col("kind") == 0,
            entry_no=pl.int_range(1, pl.len() + 1, dtype=pl.Int64) + posted.height,
            transaction_no=pl.lit(None, dtype=pl.Int64),
            posting_date=move_to_allowed(pl.col("posting_date"), first_allowed),  # R111
            adjustment=pl.lit(True),
            item_ledger_entry_quantity=pl.lit(0.0),
            invoiced_quantity=pl.lit(0.0),
            sales_amount_actual=pl.lit(0.0),
            item_charge_no=pl.lit(None, dtype=Code),
        )
        .drop("kind", "row")
    )


def value_entries_table(
    entries: pl.DataFrame,
    parts: list[pl.DataFrame],
    valuation_dates: pl.DataFrame,
    settings: Settings,
) -> pl.DataFrame:
    """Every value entry with the fields of R20 and R33, in entry number order: `parts` are the
    posted value entries, then the adjustments (both numbered already); `entries` are in entry
    number order (row i is entry i + 1).

    The table is built on each part and the parts joined as chunks, not copied into one: a
    column gathered whole beside columns of two chunks makes polars copy every column of the
    frame into one chunk (at 10M transactions, 2-3 GB first touched, 1.4 s)."""
    n = entries.height
    from_entry = entries.select(
        pl.col("entry_type").alias("item_ledger_entry_type"), *_FROM_ENTRY,
        # R93: outbounds of AVERAGE items without a fixed application
        valued_by_average_cost=(pl.col("costing_method") == "AVERAGE")
        & ~pl.col("inbound") & pl.col("applies_to_entry").is_null(),
    ).with_columns(at_entry_no(valuation_dates.get_column("item_ledger_entry_no"),
                               valuation_dates.get_column("valuation_date"), n)
                   .alias("entry_valuation_date"))
    return pl.concat([_table_part(from_entry, part, settings) for part in parts], rechunk=False)


def _table_part(from_entry: pl.DataFrame, rows: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """`value_entries_table` of one part: each value entry's item ledger entry fields by a
    gather on its entry number (not a join), R33's unit cost and the posted-to-G/L amounts."""
    invoiced = pl.col("invoiced_quantity") != 0
    cost = pl.when(invoiced).then("cost_amount_actual").otherwise(
        pl.col("cost_amount_actual") + pl.col("cost_amount_expected"))
    per = pl.when(invoiced).then("invoiced_quantity").otherwise("valued_quantity")
    table = conform(
        rows.with_columns(*from_entry[rows.get_column("item_ledger_entry_no") - 1].get_columns())
        .with_columns(  # Revaluation entries keep their own date (R92)
            valuation_date=pl.coalesce("valuation_date", "entry_valuation_date")
            if "valuation_date" in rows.columns else pl.col("entry_valuation_date"))
        .with_columns(  # a sum of rounded floats is not always the float of the rounded sum
            round_to(pl.col("cost_amount_expected", "cost_amount_actual", "sales_amount_actual"),
                     settings.amount_rounding_precision))
        .with_columns(
            cost_per_unit=pl.when(per != 0).then(
                round_to(cost / per, settings.unit_amount_rounding_precision)).otherwise(0.0),
            cost_posted_to_gl=pl.lit(0.0),
            expected_cost_posted_to_gl=pl.lit(0.0),
        ),
        ValueEntry,
    )
    # amounts are whole multiples of their rounding precision and quantities of a millionth:
    # the quotients close to a tie are rounded exactly
    unit, cents = settings.unit_amount_rounding_precision, settings.amount_rounding_precision
    return exact_near_ties(table, "cost_per_unit", pl.when(per != 0).then(cost / per),
                           round_quotient(cost, per, decimals_of(cents), QUANTITY_DECIMALS, unit),
                           unit)


def item_ledger_entries_table(entries: pl.DataFrame, applications: pl.DataFrame,
                              value_entries: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """R12, R150: quantities from the applications, amounts summed over the value entries (and
    rounded again: a sum of rounded floats is not always the float of the rounded sum).
    `entries` are in entry number order, as the table is."""
    p = settings.amount_rounding_precision
    n = entries.height
    amounts = ["cost_amount_expected", "cost_amount_actual", "sales_amount_actual"]
    sums = sums_per_entry(value_entries.get_column("item_ledger_entry_no"),
                          value_entries.select("invoiced_quantity", *amounts), n)
    # units applied per entry (inbound +, outbound -): integers far below 2^53, so the float
    # bincounts add them exactly
    units = applications.select(pl.col("units").cast(pl.Float64))
    applied = (sums_per_entry(applications.get_column("inbound"), units, n)
               - sums_per_entry(applications.get_column("outbound"), units, n))
    frame = entries.select("inbound", "units", *(
        c for c in columns(ItemLedgerEntry) if c in entries.columns and c not in sums.columns
    )).with_columns(pl.col("entry_no").set_sorted(),
                    applied.get_column("units").cast(pl.Int64).alias("applied"))
    remaining_units = pl.col("units") * pl.when("inbound").then(1).otherwise(-1) - pl.col(
        "applied")
    return conform(
        frame.with_columns(sums.with_columns(round_to(pl.col(amounts), p),
                                             pl.col("invoiced_quantity").round(QUANTITY_DECIMALS)))
        .with_columns(remaining_quantity=quantity_of(remaining_units))
        .with_columns(open=pl.col("remaining_quantity") != 0),
        ItemLedgerEntry,
    )


def application_entries_table(entries: pl.DataFrame, applications: pl.DataFrame) -> pl.DataFrame:
    """R47: one row per inbound entry, one per (outbound, inbound) quantity application.
    `entries` are in entry number order."""
    dates = entries.get_column("posting_date")
    # a cost source's own row; a cost-receiving inbound's row names its source (cost application)
    own = where(
        entries, pl.col("inbound"), pl.col("entry_no").alias("item_ledger_entry_no"),
        pl.col("entry_no").alias("inbound_item_entry_no"),
        pl.col("source_entry").alias("outbound_item_entry_no"),
        "quantity", "posting_date", pl.col("receiving").alias("cost_application"),
    )
    applied = applications.with_columns(  # dated by the later-posted entry of the pair
        posting_date=pl.lit(dates).gather(pl.max_horizontal("inbound", "outbound") - 1),
    ).select(
        pl.col("outbound").alias("item_ledger_entry_no"),
        pl.col("inbound").alias("inbound_item_entry_no"),
        pl.col("outbound").alias("outbound_item_entry_no"),
        quantity_of(-pl.col("units")).alias("quantity"),
        "posting_date", pl.lit(False).alias("cost_application"),
    )
    return conform(
        sort_ints(pl.concat([own, applied]), "item_ledger_entry_no", "inbound_item_entry_no"),
        ItemApplicationEntry,
    )
