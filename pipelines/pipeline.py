"""Every stage in order, without Dagster: for tests, the generator and benchmarks.

The Dagster assets (`assets/`) compose the same stage functions one asset per stage; this is the
plain-function twin of that graph.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pipelines.errors import InputError, NotSupportedYet, Problem, keyed_transaction
from pipelines.ingest import InputTables, OnBadRows, by_csv_line, read_input
from pipelines.posting import post_inventory_cost_to_gl
from pipelines.quarantine import cost_ledger_refusing, cost_ledger_setting_aside
from pipelines.reconcile import reconcile
from pipelines.valuation import inventory_valuation

# Contract §4, in the order the stages produce them.
OUTPUT_TABLES = (
    "item_ledger_entries",
    "item_application_entries",
    "value_entries",
    "gl_entries",
    "inventory_valuation",
    "reconciliation",
    "reconciliation_variance",
)
REJECTED_TABLE = "rejected_transactions"


def run_pipeline(inputs: InputTables, as_of: dt.date | None = None,
                 on_bad_rows: OnBadRows = "fail") -> dict[str, pl.DataFrame]:
    """Cost, post to the G/L (R120-R126), value (R130-R131) and reconcile (R140-R147).

    Returns every output table of contract §4 by name; `rejected_transactions` is included when
    rows were set aside, by ingest or, with `quarantine`, by posting (R43, R46). Reconciles
    against `inputs.gl_entries` when given, else against the G/L entries posted here (R143).
    """
    settings = inputs.settings
    cost = (cost_ledger_setting_aside if on_bad_rows == "quarantine" else lambda *tables: (
        cost_ledger_refusing(*tables), inputs.rejected_transactions.clear()))
    ledger, rejected = cost(inputs.transactions, inputs.items, inputs.inventory_periods,
                           settings, inputs.accounting_periods)
    rejected = pl.concat([inputs.rejected_transactions, rejected])  # ingest's in file order
    gl_entries, value_entries = post_inventory_cost_to_gl(
        ledger.value_entries, inputs.inventory_posting_setup, inputs.general_posting_setup,
        settings,
    )
    valuation = inventory_valuation(
        ledger.item_ledger_entries, value_entries, as_of,
        precision=settings.amount_rounding_precision,
    )
    reconciliation, variance = reconcile(
        value_entries,
        gl_entries if inputs.gl_entries is None else inputs.gl_entries,
        inputs.inventory_posting_setup, inputs.general_posting_setup, settings,
    )
    tables = {
        "item_ledger_entries": ledger.item_ledger_entries,
        "item_application_entries": ledger.item_application_entries,
        "value_entries": value_entries,
        "gl_entries": gl_entries,
        "inventory_valuation": valuation,
        "reconciliation": reconciliation,
        "reconciliation_variance": variance,
    }
    if rejected.height:
        tables[REJECTED_TABLE] = rejected
    return tables


def input_problems(data_dir: str | Path) -> list[Problem]:
    """Every problem `invrec run` stops on, found without writing anything: ingest's checks
    (schemas, R160's row rules, settings), then the problems only posting the transactions finds
    (R160: a fixed application beyond the remaining quantity, R43; a transfer without stock,
    R46; a missing posting setup, R122; and what this version cannot cost yet). Those cost and
    post the whole history: as long as a run, less writing. When ingest's problems are all in
    transaction rows, posting runs on the other rows, as with quarantine (the rows set aside and
    those applying to them as if never posted), so one pass names both kinds."""
    try:
        inputs = read_input(data_dir)
        found: list[Problem] = []
    except InputError as exc:
        found = list(exc.problems)  # a copy: the lines below add to it
        try:
            inputs = read_input(data_dir, on_bad_rows="quarantine")
        except InputError:  # problems beyond transaction rows: nothing to post
            return found
    try:
        run_pipeline(inputs)
    except InputError as exc:
        found += by_csv_line(exc.problems, data_dir)
        if isinstance(exc, NotSupportedYet) or any(
                keyed_transaction(p) is None for p in exc.problems):
            return found  # posting's (R122): costing passed
        try:  # costing's rows (R43, R46) set aside: what posting finds in the rest
            run_pipeline(inputs, on_bad_rows="quarantine")
        except InputError as rest:
            found += [p for p in by_csv_line(rest.problems, data_dir) if p not in found]
    return found
