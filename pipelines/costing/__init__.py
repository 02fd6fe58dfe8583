"""The costing stage: post the transactions, then run Adjust Cost - Item Entries once (R10-R111)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import polars as pl

from pipelines.costing import revaluation
from pipelines.costing import value_entries as ve
from pipelines.costing.application import apply_quantities
from pipelines.costing.by_entry import at_entry_no
from pipelines.costing.dates import first_allowed_date
from pipelines.costing.fifo import rounding_amounts
from pipelines.costing.ledger import (
    SUPPORTED_TYPES,
    TRANSACTION_CODES,
    check_supported,
    item_ledger_entries,
    source_value_entries,
)
from pipelines.costing.parts import parts_for, settled_in_parts
from pipelines.costing.settle import settle_costs
from pipelines.frames import gather_rows
from pipelines.settings import Settings
from schemas.base import Code, columns
from schemas.ledger import ItemLedgerEntry

# the entries' columns quantity application, the revaluations and the fixed point read
SETTLE_COLUMNS = (
    "entry_no", "transaction_no", "posting_date", "type", "item_no", "location_code", "key_id",
    "costing_method", "standard_cost", "quantity", "units", "unit_cost", "amount", "leg",
    "inbound", "receiving", "applies_to", "applies_to_entry", "source_entry",
)
# what the three tables read of the entries beyond the item ledger entries' own columns (R20, R47)
TABLE_COLUMNS = (
    "inbound", "units", "receiving", "source_entry", "costing_method",
    "inventory_posting_group", "gen_prod_posting_group",
)


class Ledger(NamedTuple):
    item_ledger_entries: pl.DataFrame
    item_application_entries: pl.DataFrame
    value_entries: pl.DataFrame
    unsettled_items: pl.DataFrame  # item_no: R60, did not settle, not adjusted


def cost_ledger(
    transactions: pl.DataFrame,
    items: pl.DataFrame,
    inventory_periods: pl.DataFrame,
    settings: Settings,
    accounting_periods: pl.DataFrame | None = None,
    parts: int | None = None,
) -> Ledger:
    """Item ledger, item application and value entries after one cost adjustment run.

    `transactions` are in transaction_no order (ingest sorts them); value entries carry nothing
    posted to the G/L yet (R124 is the posting stage's). Quantity application and the fixed
    point run on `parts` parts of the items side by side (by default `parts.parts_for`), with
    the same result as one run.
    """
    if not transactions.get_column("transaction_no").is_sorted():  # sorted by ingest, as a rule
        transactions = transactions.sort("transaction_no")  # 2 s at 10M even when in order
    check_supported(transactions, items)
    # an Enum: the steps compare `type` with literals dozens of times over millions of rows;
    # the Code texts the value entries take from their transaction as the table holds them
    transactions = transactions.with_columns(pl.col("type").cast(pl.Enum(SUPPORTED_TYPES)),
                                             pl.col(TRANSACTION_CODES).cast(Code))
    entries = revaluation.standard_cost_in_force(
        item_ledger_entries(transactions, items), transactions)
    source = source_value_entries(transactions, entries, settings)
    settle = partial(_settled, settings=settings, accounting_periods=accounting_periods)
    parts = parts_for(entries.height) if parts is None else parts
    # settling reads only the revaluations among the transactions and some of the entries'
    # columns: only those are shared out into parts (at 1M, 1,297 of the transactions' rows
    # and 70 % of the entries' bytes; at 10M, 2-4 s less and 0.5 GB less at the peak)
    settling = (transactions.filter(pl.col("type") == "revaluation"),
                entries.select(SETTLE_COLUMNS), source)
    applications, revalued, links, outbound, inbound, amounts, unsettled = (
        settle(*settling) if parts <= 1 else settled_in_parts(settle, *settling, parts))
    del settling
    # Each intermediate is let go once its last reader has run: at 10M transactions they are
    # gigabytes each, and the tables below would otherwise be built on top of all of them.
    posted = ve.posted_value_entries(
        transactions, entries, source, outbound, inbound, settings,
        None if revalued is None else revaluation.revaluation_value_entries(revalued, amounts))
    del source, revalued
    targets = pl.concat([
        outbound.select("entry_no", "target"),
        inbound.filter(pl.col("receiving")).select(pl.col("inbound").alias("entry_no"), "target"),
    ])
    rounding = rounding_amounts(inbound, applications, settings, amounts, links)
    valuation_dates = pl.concat([
        inbound.select(pl.col("inbound").alias("item_ledger_entry_no"),
                       pl.col("vdate").alias("valuation_date")),
        outbound.select(pl.col("entry_no").alias("item_ledger_entry_no"), "valuation_date"),
    ])
    del outbound, inbound, amounts, links
    if unsettled.height:  # R60: cost adjustment writes nothing for an item that did not settle
        left_alone = entries.join(unsettled, on="item_no", how="semi").select("entry_no")
        targets = targets.join(left_alone, on="entry_no", how="anti")
        rounding = rounding.join(left_alone, on="entry_no", how="anti")
    # the rest of the entries' columns go now, not when costing returns (at 10M, 0.8 GB less
    # under the tables, whose pages cost most: docs/benchmarks.md, run BD), and their texts
    # are held as Categorical, as the tables hold them (0.7-1 GB less, run BG). In entry number
    # order (row i is entry i + 1), the order of the item ledger entries table: each table
    # then finds an entry's row by its number, and none reorders them again.
    entries = entries.select(c for c in entries.columns
                             if c in TABLE_COLUMNS or c in columns(ItemLedgerEntry)).with_columns(
        pl.col(pl.String).cast(Code))
    entries = gather_rows(entries, at_entry_no(entries.get_column("entry_no"), pl.int_range(
        entries.height, dtype=pl.Int64, eager=True), entries.height))
    adjustments = ve.adjustment_entries(
        posted, targets, rounding, first_allowed_date(inventory_periods, settings), settings)
    del targets, rounding
    # posted, then adjustments: already in entry_no order
    value_entries = ve.value_entries_table(entries, [posted, adjustments], valuation_dates,
                                           settings)
    del posted, adjustments, valuation_dates
    return Ledger(
        item_ledger_entries=ve.item_ledger_entries_table(entries, applications, value_entries,
                                                         settings),
        item_application_entries=ve.application_entries_table(entries, applications),
        value_entries=value_entries,
        unsettled_items=unsettled,
    )


def _settled(revaluations: pl.DataFrame, entries: pl.DataFrame, source: pl.DataFrame,
             settings: Settings, accounting_periods: pl.DataFrame | None) -> tuple:
    """Quantity application (R40-R47), the revaluations (R80-R85, the transactions of type
    revaluation) and the fixed point of Adjust Cost (R60): applications, revalued, links,
    outbound, inbound, amounts, unsettled items."""
    applications = apply_quantities(entries)
    revalued = links = None
    if revaluations.height:
        revalued = revaluation.revalued_entries(revaluations, entries, applications, source)
        links = revaluation.revaluation_links(revalued, entries, applications)
    outbound, inbound, amounts, unsettled = settle_costs(
        entries, source, applications, settings, accounting_periods, revalued, links)
    return applications, revalued, links, outbound, inbound, amounts, unsettled
