"""R160 under on_bad_rows = quarantine for the rows only posting finds bad: a fixed application to
an entry without enough remaining quantity (R43), a transfer without stock at its from-location
(R46). BC never posts such a row, so the history is costed again without it and without every row
whose applies_to chain reaches it. Setting one aside can leave a later row short (a transfer out
of the stock a rejected transfer would have brought), so this repeats, a round per level; a clean
history costs once, as without quarantine.
"""

from __future__ import annotations

import polars as pl

from pipelines.costing import Ledger, cost_ledger
from pipelines.errors import InputError, NotSupportedYet, Problem, keyed_transaction
from pipelines.ingest import set_aside
from pipelines.settings import Settings
from schemas.base import conform
from schemas.inputs import RejectedTransaction

MAX_ROUNDS = 20


def cost_ledger_setting_aside(
    transactions: pl.DataFrame,
    items: pl.DataFrame,
    inventory_periods: pl.DataFrame,
    settings: Settings,
    accounting_periods: pl.DataFrame | None = None,
) -> tuple[Ledger, pl.DataFrame]:
    """`cost_ledger` of the transactions posting can post, and the ones it set aside with their
    reasons (schemas.inputs.RejectedTransaction). Problems that are not a transaction row's (a
    missing item's, or what this version cannot cost yet) still raise."""
    rejected = [conform(transactions.clear().with_columns(reason=pl.lit(None, pl.String)),
                        RejectedTransaction)]
    for _ in range(MAX_ROUNDS):
        try:
            ledger = cost_ledger(transactions, items, inventory_periods, settings,
                                 accounting_periods)
            return ledger, pl.concat(rejected).sort("transaction_no")
        except NotSupportedYet:
            raise
        except InputError as exc:
            reasons = _row_reasons(exc.problems)
            if reasons is None:
                raise
            out = set_aside(transactions, reasons, key="transaction_no")
            transactions = transactions.join(out.select("transaction_no"), on="transaction_no",
                                             how="anti")
            rejected.append(conform(out, RejectedTransaction))
    raise InputError([Problem("transactions", None, None, None,
                              f"R160: rows posting finds bad still found after setting aside "
                              f"{MAX_ROUNDS} rounds of them")])


def _row_reasons(problems: list[Problem]) -> pl.DataFrame | None:
    """(transaction_no, reason) per row the problems name, as ingest words a reason; None when a
    problem names no transaction row."""
    rows = [(keyed_transaction(p),
             f"{p.column}{'' if p.value is None else f' {p.value!r}'}: {p.rule}")
            for p in problems]
    if any(no is None for no, _ in rows):
        return None
    return (pl.DataFrame(rows, schema={"transaction_no": pl.Int64, "reason": pl.String},
                         orient="row")
            .group_by("transaction_no", maintain_order=True).agg(pl.col("reason").str.join("; ")))
