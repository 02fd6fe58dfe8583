"""Valuation: inventory as of a date by posting date (R130-R132)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.checks import schema_check
from assets.metadata import KINDS, markdown, table_metadata, total
from assets.resources import InvrecConfig
from pipelines.valuation import default_as_of
from pipelines.valuation import inventory_valuation as value_inventory
from schemas.gl import InventoryValuation

INVENTORY_VALUATION = "inventory_valuation"


def inventory_value(valuation: pl.DataFrame) -> float:
    """R132: the summary's inventory value, actual plus expected cost of the valuation."""
    return round(total(valuation, "cost_amount_actual") + total(valuation, "cost_amount_expected"),
                 2)


@dg.asset(
    name=INVENTORY_VALUATION, group_name="valuation", kinds=KINDS,
)
def inventory_valuation(
    invrec_config: InvrecConfig, item_ledger_entries: pl.DataFrame, value_entries: pl.DataFrame
) -> dg.Output[pl.DataFrame]:
    """Inventory valuation per item, location, variant and inventory posting group as of the
    configured date (default: the last posting date of any value entry, R131): quantity by the item
    ledger entries' posting dates, actual and expected cost by the value entries' own posting dates
    (R130). Its total is the inventory value of the run summary (R132)."""
    as_of = invrec_config.as_of_date()
    precision = invrec_config.settings().amount_rounding_precision
    valuation = value_inventory(item_ledger_entries, value_entries, as_of, precision=precision)
    effective = as_of or default_as_of(value_entries)
    by_location = (
        valuation.group_by("location_code")
        .agg(pl.col("quantity").sum(), pl.col("cost_amount_actual").sum().round(2),
             pl.col("cost_amount_expected").sum().round(2))
        .sort("location_code")
    )
    return dg.Output(valuation, metadata=table_metadata(
        valuation,
        as_of=str(effective) if effective else "no entries",
        inventory_value=inventory_value(valuation),
        quantity=float(valuation["quantity"].sum()) if valuation.height else 0.0,
        cost_amount_actual=total(valuation, "cost_amount_actual"),
        cost_amount_expected=total(valuation, "cost_amount_expected"),
        by_location=dg.MetadataValue.md(markdown(by_location, 50) if valuation.height
                                        else "_no inventory_"),
    ))


ASSETS = [inventory_valuation]
CHECKS = [schema_check(INVENTORY_VALUATION, InventoryValuation)]
