"""Ledger and costing: posting the transactions, one Adjust Cost - Item Entries run (R10-R111)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.checks import IN_OP, schema_result, schema_spec
from assets.ingest import INGEST_REJECTIONS
from assets.metadata import KINDS, markdown, table_metadata, total
from assets.resources import InvrecConfig
from pipelines.errors import InputError
from pipelines.ingest import by_csv_line
from pipelines.quarantine import cost_ledger_refusing, cost_ledger_setting_aside
from schemas.ledger import ItemApplicationEntry, ItemLedgerEntry, ValueEntry

ITEM_LEDGER_ENTRIES = "item_ledger_entries"
ITEM_APPLICATION_ENTRIES = "item_application_entries"
ADJUSTED_VALUE_ENTRIES = "adjusted_value_entries"
REJECTED_TRANSACTIONS = "rejected_transactions"
COSTS_SETTLED = "costs_settled"
MAX_ITEMS_SHOWN = 50
_LEDGER_INPUTS = ("transactions", "items", "inventory_periods", "accounting_periods")
SCHEMAS = {ITEM_LEDGER_ENTRIES: ItemLedgerEntry, ITEM_APPLICATION_ENTRIES: ItemApplicationEntry,
           ADJUSTED_VALUE_ENTRIES: ValueEntry}


@dg.multi_asset(
    outs={
        ITEM_LEDGER_ENTRIES: dg.AssetOut(
            group_name="ledger", kinds=KINDS,
            description="Item ledger entries: one per quantity movement (Purchase, Sale, "
                        "Positive/Negative Adjmt., Transfer legs) with remaining quantity, open "
                        "flag and cost amounts summed over its value entries after cost "
                        "adjustment (R10-R12, R150)."),
        ITEM_APPLICATION_ENTRIES: dg.AssetOut(
            group_name="ledger", kinds=KINDS,
            description="Item application entries: which inbound entry each outbound entry "
                        "took its quantity (and cost) from, FIFO order or fixed by applies_to "
                        "(R40-R47)."),
        ADJUSTED_VALUE_ENTRIES: dg.AssetOut(
            group_name="costing", kinds=KINDS,
            description="Value entries after Adjust Cost - Item Entries: the cost posted with "
                        "each transaction plus adjustment entries (adjustment = true) that bring "
                        "every outbound to its final cost (R20-R33, R60-R111). Nothing is posted "
                        "to the G/L yet."),
        REJECTED_TRANSACTIONS: dg.AssetOut(
            group_name="ledger", kinds=KINDS,
            description="Transactions set aside under on_bad_rows = quarantine, each with its "
                        "reason: those ingest rejected (ingest_rejections) and those posting "
                        "finds bad (R160: a fixed application beyond the remaining quantity, "
                        "R43; a transfer without stock, R46), the history being costed without "
                        "them; every transaction whose applies_to chain reaches one goes too. "
                        "Empty with on_bad_rows = fail, where any bad row stops the run."),
    },
    # the ledger comes from the posted transactions alone; only the rejected rows read ingest's
    internal_asset_deps={
        **{out: {dg.AssetKey(k) for k in _LEDGER_INPUTS}
           for out in (ITEM_LEDGER_ENTRIES, ITEM_APPLICATION_ENTRIES, ADJUSTED_VALUE_ENTRIES)},
        REJECTED_TRANSACTIONS: {dg.AssetKey(k) for k in (*_LEDGER_INPUTS, INGEST_REJECTIONS)},
    },
    name="adjust_cost_item_entries",
    check_specs=[
        dg.AssetCheckSpec(
            COSTS_SETTLED, asset=ADJUSTED_VALUE_ENTRIES,
            description="R60: every item's costs reached their fixed point within 100 rounds. An "
                        "item that did not settle is left unadjusted (its entries keep their "
                        "posted amounts) and named here, at warning severity: the run goes on, "
                        "as in BC." + IN_OP),
        *(schema_spec(asset, model) for asset, model in SCHEMAS.items()),
    ],
)
def ledger_and_costing(
    invrec_config: InvrecConfig,
    transactions: pl.DataFrame,
    items: pl.DataFrame,
    inventory_periods: pl.DataFrame,
    accounting_periods: pl.DataFrame,
    ingest_rejections: pl.DataFrame,
):
    """Post every transaction in transaction_no order, then run cost adjustment once (R60); under
    quarantine, without the rows posting finds bad (R43, R46: `pipelines.quarantine`)."""
    tables = (transactions, items, inventory_periods, invrec_config.settings(),
              accounting_periods)
    try:
        if invrec_config.on_bad_rows == "quarantine":
            ledger, rejected = cost_ledger_setting_aside(*tables)
        else:
            ledger, rejected = cost_ledger_refusing(*tables), ingest_rejections.clear()
    except InputError as exc:  # the rows it names by transaction_no, by CSV line (contract §2)
        raise type(exc)(by_csv_line(exc.problems, invrec_config.data_path())) from exc
    rejected = pl.concat([ingest_rejections, rejected])
    yield dg.Output(rejected, output_name=REJECTED_TRANSACTIONS, metadata=table_metadata(
        rejected, on_bad_rows=invrec_config.on_bad_rows,
        set_aside_by_posting=rejected.height - ingest_rejections.height,
        reasons=dg.MetadataValue.md(markdown(rejected.select("transaction_no", "reason"),
                                             MAX_ITEMS_SHOWN)),
    ))
    ile, iae, ve = ledger.item_ledger_entries, ledger.item_application_entries, ledger.value_entries
    yield dg.Output(ile, output_name=ITEM_LEDGER_ENTRIES, metadata=table_metadata(
        ile, open_entries=int(ile["open"].sum()) if ile.height else 0,
        cost_amount_actual=total(ile, "cost_amount_actual"),
        cost_amount_expected=total(ile, "cost_amount_expected"),
    ))
    yield dg.Output(iae, output_name=ITEM_APPLICATION_ENTRIES, metadata=table_metadata(
        iae, cost_applications=int(iae["cost_application"].sum()) if iae.height else 0,
    ))
    adjustments = ve.filter(pl.col("adjustment"))
    unsettled = ledger.unsettled_items
    yield dg.Output(ve, output_name=ADJUSTED_VALUE_ENTRIES, metadata=table_metadata(
        ve, adjustment_entries=adjustments.height,
        adjustment_amount=total(adjustments, "cost_amount_actual"),
        cost_amount_actual=total(ve, "cost_amount_actual"),
        cost_amount_expected=total(ve, "cost_amount_expected"),
        unsettled_items=unsettled.height,
    ))
    yield dg.AssetCheckResult(
        asset_key=ADJUSTED_VALUE_ENTRIES, check_name=COSTS_SETTLED, passed=unsettled.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unsettled_items": unsettled.height,
                  "item_nos": dg.MetadataValue.json(unsettled.get_column("item_no").to_list()),
                  "items": dg.MetadataValue.md(markdown(unsettled, MAX_ITEMS_SHOWN))},
    )
    for asset, frame in ((ITEM_LEDGER_ENTRIES, ile), (ITEM_APPLICATION_ENTRIES, iae),
                         (ADJUSTED_VALUE_ENTRIES, ve)):
        yield schema_result(frame, SCHEMAS[asset], asset)


ASSETS = [ledger_and_costing]
CHECKS: list = []  # all of them are specs of the op above
