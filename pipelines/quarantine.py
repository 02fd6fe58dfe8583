"""R160 under on_bad_rows = quarantine for the rows only posting finds bad: a fixed application to
an entry without enough remaining quantity (R43), a transfer without stock at its from-location
(R46). BC refuses such a row when it is posted and posts the rest as if it never was, so the
history is costed again without it and without every row whose applies_to chain reaches it.

Whether a row is bad depends only on the rows of its item posted before it; a later row may
look bad only because an earlier bad one was costed as if posted (a transfer out of the stock a
rejected transfer would have brought). So per round only the first bad row of each item is set
aside, and only those items are costed again, until each posts; then the whole history once
more. A clean history costs once, as without quarantine. (R43 names the last fixed application
to an inbound: where two fixed applications share one, the later may go first.)
"""

from __future__ import annotations

import polars as pl

from pipelines.costing import Ledger, cost_ledger
from pipelines.errors import InputError, NotSupportedYet, Problem, keyed_transaction
from pipelines.ingest import set_aside
from pipelines.settings import Settings
from schemas.base import conform
from schemas.inputs import RejectedTransaction

MAX_ROUNDS = 100  # rounds after the first costing of only the items with a bad row are small


def cost_ledger_setting_aside(
    transactions: pl.DataFrame,
    items: pl.DataFrame,
    inventory_periods: pl.DataFrame,
    settings: Settings,
    accounting_periods: pl.DataFrame | None = None,
) -> tuple[Ledger, pl.DataFrame]:
    """`cost_ledger` of the transactions posting can post, and the ones it set aside with their
    reasons (schemas.inputs.RejectedTransaction). Problems that are not a transaction row's, or
    what this version cannot cost yet (NotSupportedYet), still raise."""
    rejected = [conform(transactions.clear().with_columns(reason=pl.lit(None, pl.String)),
                        RejectedTransaction)]
    doubted = None  # the items costed this round: None, all of them
    for _ in range(MAX_ROUNDS):
        checked = transactions if doubted is None else transactions.filter(
            pl.col("item_no").is_in(doubted.implode()))
        try:
            ledger = cost_ledger(checked, items, inventory_periods, settings, accounting_periods)
        except NotSupportedYet:
            raise
        except InputError as exc:
            first = _first_bad_row_per_item(exc, checked)
            out = set_aside(transactions, first.drop("item_no"), key="transaction_no")
            transactions = transactions.join(out.select("transaction_no"), on="transaction_no",
                                             how="anti")
            rejected.append(conform(out, RejectedTransaction))
            doubted = first.get_column("item_no")
            continue
        if doubted is None:
            return ledger, pl.concat(rejected).sort("transaction_no")
        doubted = None  # the doubted items post now: the whole history once more
    raise InputError([Problem("transactions", None, None, None,
                              f"R160: rows posting finds bad still found after {MAX_ROUNDS} "
                              "rounds of setting them aside")])


def _first_bad_row_per_item(exc: InputError, checked: pl.DataFrame) -> pl.DataFrame:
    """(transaction_no, reason, item_no): the first row of each item `exc` names; `exc` raised
    again when one of its problems names no transaction row."""
    reasons = _row_reasons(exc.problems)
    if reasons is None:
        raise exc
    return (reasons.join(checked.select("transaction_no", "item_no"), on="transaction_no")
            .sort("transaction_no").unique("item_no", keep="first", maintain_order=True))


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
