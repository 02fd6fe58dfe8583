"""Valuation: inventory as of a date by posting date (R130-R132), and BC's Inventory Valuation
report per month (an extra table)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.checks import schema_result, schema_spec
from assets.metadata import KINDS, bars, markdown, table_metadata, total
from assets.resources import InvrecConfig
from pipelines.valuation import KEYS, default_as_of, inventory_valuation_by_period
from pipelines.valuation import inventory_valuation as value_inventory
from schemas.gl import InventoryValuation, InventoryValuationPeriod

INVENTORY_VALUATION = "inventory_valuation"
VALUATION_REPORT = "inventory_valuation_by_period"
TIE_CHECK = "inventory_valuation_by_period_closes_at_inventory_valuation"


def inventory_value(valuation: pl.DataFrame) -> float:
    """R132: the summary's inventory value, actual plus expected cost of the valuation."""
    return round(total(valuation, "cost_amount_actual") + total(valuation, "cost_amount_expected"),
                 2)


@dg.asset(
    name=INVENTORY_VALUATION, group_name="valuation", kinds=KINDS,
    check_specs=[schema_spec(INVENTORY_VALUATION, InventoryValuation)],
)
def inventory_valuation(
    invrec_config: InvrecConfig, item_ledger_entries: pl.DataFrame, value_entries: pl.DataFrame
):
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
    yield dg.Output(valuation, metadata=table_metadata(
        valuation,
        as_of=str(effective) if effective else "no entries",
        inventory_value=inventory_value(valuation),
        quantity=float(valuation["quantity"].sum()) if valuation.height else 0.0,
        cost_amount_actual=total(valuation, "cost_amount_actual"),
        cost_amount_expected=total(valuation, "cost_amount_expected"),
        by_location=dg.MetadataValue.md(markdown(by_location, 50) if valuation.height
                                        else "_no inventory_"),
    ))
    yield schema_result(valuation, InventoryValuation, INVENTORY_VALUATION)


def report_totals(report: pl.DataFrame) -> pl.DataFrame:
    """The report summed over items per month: opening, increases, decreases, closing."""
    figures = [c for c in report.columns if c.split("_", 1)[0] in
               ("opening", "increases", "decreases", "closing")]
    return (
        report.group_by("period_end")
        .agg(*[pl.col(c).sum().round(2) for c in figures])
        .sort("period_end")
        .with_columns(plot=bars(pl.col("closing_value") + pl.col("closing_expected_cost")))
    )


@dg.asset(name=VALUATION_REPORT, group_name="valuation", kinds=KINDS,
          check_specs=[schema_spec(VALUATION_REPORT, InventoryValuationPeriod)])
def inventory_valuation_report(
    invrec_config: InvrecConfig, item_ledger_entries: pl.DataFrame, value_entries: pl.DataFrame
):
    """Business Central's Inventory Valuation report run for every calendar month up to the
    valuation date: per item, location, variant and inventory posting group the opening quantity
    and value, the increases, the decreases and the closing, by posting date (R130). Values are
    actual cost (the report without expected cost); the expected cost columns added to them give
    the report with expected cost. Months, like the reconciliation's periods (R141), so a month's
    closing ties to the inventory accounts at its end; the last month ends on the valuation date
    and closes at inventory_valuation. An extra table, not one of the contract's outputs."""
    as_of = invrec_config.as_of_date()
    precision = invrec_config.settings().amount_rounding_precision
    report = inventory_valuation_by_period(item_ledger_entries, value_entries, as_of,
                                           precision=precision)
    totals = report_totals(report)
    last = totals.tail(1)
    yield dg.Output(report, metadata=table_metadata(
        report,
        months=totals.height,
        closing_value=float(last["closing_value"].sum()) if last.height else 0.0,
        closing_expected_cost=float(last["closing_expected_cost"].sum()) if last.height else 0.0,
        by_month=dg.MetadataValue.md(markdown(totals, 100) if totals.height
                                     else "_no inventory_"),
    ))
    yield schema_result(report, InventoryValuationPeriod, VALUATION_REPORT)


@dg.asset_check(
    asset=VALUATION_REPORT, name=TIE_CHECK, blocking=True,
    additional_ins={"inventory_valuation": dg.AssetIn(INVENTORY_VALUATION)},
    description="The monthly report's last closing quantity, value and expected cost equal "
                "inventory_valuation as of the same date, per item, location, variant and "
                "posting group (R130, R157).",
)
def report_closes_at_valuation(
    inventory_valuation_by_period: pl.DataFrame, inventory_valuation: pl.DataFrame
) -> dg.AssetCheckResult:
    return closing_result(inventory_valuation_by_period, inventory_valuation)


def closing_result(report: pl.DataFrame, valuation: pl.DataFrame,
                   precision: float = 0.01) -> dg.AssetCheckResult:
    """Rows where the report's last closing and the valuation disagree (a missing row is zero)."""
    closing = report.filter(pl.col("period_end") == pl.col("period_end").max()).select(
        *KEYS, pl.col("closing_quantity").alias("quantity"),
        pl.col("closing_value").alias("cost_amount_actual"),
        pl.col("closing_expected_cost").alias("cost_amount_expected"),
    )
    figures = ["quantity", "cost_amount_actual", "cost_amount_expected"]
    joined = closing.join(valuation, on=KEYS, how="full", coalesce=True, suffix="_valuation")
    off = joined.with_columns(pl.col(f"^{c}.*$").fill_null(0.0) for c in figures).filter(
        pl.any_horizontal((pl.col(c) - pl.col(f"{c}_valuation")).abs() >= precision / 2
                          for c in figures))
    return dg.AssetCheckResult(
        passed=off.height == 0,
        metadata={"rows_compared": joined.height, "rows_differing": off.height,
                  **({"differing": dg.MetadataValue.md(markdown(off, 20))} if off.height else {})},
    )


ASSETS = [inventory_valuation, inventory_valuation_report]
CHECKS = [report_closes_at_valuation]
