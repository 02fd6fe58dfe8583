"""Ingest: the input folder read and validated once (contract §2), one asset per input table."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import dagster as dg
import polars as pl

from assets.metadata import KINDS, table_metadata
from assets.resources import InvrecConfig
from pipelines.ingest import TABLES, read_input
from pipelines.settings import SETTINGS_FILE
from schemas.base import empty
from schemas.inputs import GLEntry

GROUP = "ingest"
INPUT_FOLDER = "input_folder"
INPUT_FILES = [f"{t}.{ext}" for t in TABLES for ext in ("csv", "parquet")] + [SETTINGS_FILE]
EXTERNAL_GL = "external_gl_entries"
INGEST_REJECTIONS = "ingest_rejections"

_DESCRIPTIONS = {
    "items": "Items with their costing method, standard cost and posting groups (items table).",
    "transactions": "Posted item transactions in transaction_no order, the order BC posts them "
                    "in; quarantined rows are left out (transactions table).",
    "inventory_posting_setup": "Inventory and Inventory (Interim) accounts per location and "
                               "inventory posting group (R122).",
    "general_posting_setup": "COGS, Inventory Adjmt., Direct Cost Applied and the other P&L and "
                             "interim accounts per business and product posting group (R122).",
    "gl_accounts": "Chart of accounts names, for reports (optional table; empty when absent).",
    "inventory_periods": "Inventory periods; closed periods move adjustment dates forward (R110). "
                         "Empty when absent.",
    "accounting_periods": "Accounting periods, used by average_cost_period = accounting_period "
                          "(R91). Empty when absent.",
    EXTERNAL_GL: "The general ledger to reconcile against (input gl_entries). When the input "
                 "folder has none this is an empty frame and metadata `present` is false: the "
                 "reconciliation then runs against the G/L entries invrec posts itself (R143).",
    INGEST_REJECTIONS: "Transactions ingest set aside under on_bad_rows = quarantine (a schema "
                       "or R160 row rule broken, or an applies_to chain reaching such a row), "
                       "each with its reason; costing adds the rows only posting finds bad and "
                       "publishes all of them as rejected_transactions. Empty with on_bad_rows = "
                       "fail, where any bad row stops the run instead.",
}
OUTPUTS = [n for n in TABLES if n != "gl_entries"] + [EXTERNAL_GL, INGEST_REJECTIONS]


def folder_state(data_dir: Path) -> dict[str, list[int]]:
    """{file name: [mtime_ns, size]} of the input files present (other files are ignored)."""
    state = {}
    for name in INPUT_FILES:
        path = data_dir / name
        if path.is_file():
            st = path.stat()
            state[name] = [st.st_mtime_ns, st.st_size]
    return state


def folder_version(state: dict[str, list[int]]) -> str:
    """The input folder's data version: a digest of its files' names, times and sizes (reading
    the files' content would take seconds at ten million transactions)."""
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


def folder_observation(data_dir: Path, state: dict[str, list[int]]) -> dict:
    """What an observation of the input folder reports: its data version and files."""
    files = "\n".join(f"| {name} | {size:,} |" for name, (_, size) in sorted(state.items()))
    return {
        "data_version": dg.DataVersion(folder_version(state)),
        "metadata": {
            "data_dir": dg.MetadataValue.path(str(data_dir)),
            "files": len(state),
            "preview": dg.MetadataValue.md(f"| file | bytes |\n|---|---:|\n{files}"),
        },
    }


def _observe_input_folder(invrec_config: InvrecConfig) -> dg.ObserveResult:
    """Observe the input folder: its data version and the files in it, with their sizes."""
    data_dir = invrec_config.data_path()
    return dg.ObserveResult(**folder_observation(data_dir, folder_state(data_dir)))


# Observable source assets are beta in Dagster 1.13: we rely on them knowingly (the UI's
# Observe button and stale status) and keep that warning out of every load of the code location.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    input_folder = dg.observable_source_asset(
        name=INPUT_FOLDER, group_name=GROUP,
        description="The input folder (contract §2): the company's tables and settings.toml as "
                    "CSV or Parquet files, which invrec reads and never changes. Its data version "
                    "is a digest of the input files' names, modification times and sizes. Every "
                    "run of the job observes it first; after a later observation (the Observe "
                    "button, or the input folder sensor) the UI shows the ingest tables as stale "
                    "when a file was added, removed or changed since they were materialized.",
    )(_observe_input_folder)


def external_gl_present(config: InvrecConfig, instance: dg.DagsterInstance | None = None) -> bool:
    """Whether ingest read a gl_entries table (else reconcile against our own, R143): the
    `present` of the latest external_gl_entries materialization, so that a later run of the
    reconciliation alone reads the G/L that frame holds, not the folder as it is now; the folder
    itself only when there is no such record."""
    event = None if instance is None else instance.get_latest_materialization_event(
        dg.AssetKey(EXTERNAL_GL))
    present = None if event is None else event.asset_materialization.metadata.get("present")
    if present is not None:
        return bool(present.value)
    return any((config.data_path() / f"gl_entries.{ext}").exists() for ext in ("csv", "parquet"))


@dg.multi_asset(
    outs={
        name: dg.AssetOut(description=_DESCRIPTIONS[name], group_name=GROUP, kinds=KINDS,
                          is_required=True)
        for name in OUTPUTS
    },
    name="ingest_input_folder",
    deps=[INPUT_FOLDER],
)
def input_tables(invrec_config: InvrecConfig):
    """Read the input folder once (CSV or Parquet per table) and validate it (R160).

    Raises InputError naming table, row, column, value and rule for every problem; with
    on_bad_rows = quarantine, bad transactions are set aside instead (ingest_rejections).
    """
    inputs = read_input(invrec_config.data_path(), on_bad_rows=invrec_config.on_bad_rows)
    source = {"data_dir": dg.MetadataValue.path(str(invrec_config.data_path()))}
    for name in OUTPUTS:
        if name == EXTERNAL_GL:
            present = inputs.gl_entries is not None
            frame = inputs.gl_entries if present else _empty_external_gl()
            extra = {"present": present}
            if present:
                extra["gl_total"] = round(float(frame["amount"].sum() or 0.0), 2)
        elif name == INGEST_REJECTIONS:
            frame, extra = inputs.rejected_transactions, {"on_bad_rows": invrec_config.on_bad_rows}
        else:
            frame = getattr(inputs, name)
            extra = {}
        if inputs.empty_lines.get(name):  # left out, not lost: they hold no value
            extra["empty_lines_left_out"] = inputs.empty_lines[name]
        if name == "transactions" and frame.height:
            extra["first_posting_date"] = str(frame["posting_date"].min())
            extra["last_posting_date"] = str(frame["posting_date"].max())
        yield dg.Output(frame, output_name=name, metadata=table_metadata(frame, **source, **extra))


def _empty_external_gl() -> pl.DataFrame:
    return empty(GLEntry)


SOURCES = [input_folder]  # observed, not materialized: in the UI, not in the job
ASSETS = [input_tables]
CHECKS: list = []
