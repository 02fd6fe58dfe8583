"""R160 under on_bad_rows = quarantine for the rows only posting finds bad: a fixed application to
an entry without enough remaining quantity (R43), a transfer without stock at its from-location
(R46). BC refuses such a row when it is posted and posts the rest as if it never was, so the
history is costed again without it and without every row whose applies_to chain reaches it.

Whether a row is bad depends only on the rows of its item posted before it, but the row costing
names is not always the one BC refuses: beside an earlier bad row a later one may look bad too (a
return fixed to a purchase a rejected transfer took), a fixed application asking more than its
entry has left makes an earlier transfer out of that location look short (R46), and R43 names the
last fixed application to an entry, not the first that does not fit. So the first bad row of each
item is found by bisection on the item's prefixes (the whole item fails, the empty prefix posts;
halving the span costs only the doubted items' prefixes, all items at once, about log2 of an
item's rows rounds). That row goes, and the history is costed again. A clean history costs once,
as without quarantine.
"""

from __future__ import annotations

import polars as pl

from pipelines.costing import Ledger, cost_ledger
from pipelines.errors import (
    InputError,
    NotSupportedYet,
    Problem,
    keyed_transaction,
    transaction_row,
)
from pipelines.ingest import set_aside
from pipelines.settings import Settings
from schemas.base import conform
from schemas.inputs import RejectedTransaction

MAX_ROUNDS = 1_000
_BLAMED = "R160: with it posted,"  # the reason of a bad row costing did not name itself


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
    ledger, rejected, _ = _setting_aside(transactions, items, inventory_periods, settings,
                                         accounting_periods)
    return ledger, rejected


def cost_ledger_refusing(
    transactions: pl.DataFrame,
    items: pl.DataFrame,
    inventory_periods: pl.DataFrame,
    settings: Settings,
    accounting_periods: pl.DataFrame | None = None,
) -> Ledger:
    """`cost_ledger` under on_bad_rows = fail: its InputError names the rows BC refuses when it
    posts them one by one (each with the problem costing gave it), not the rows costing the whole
    history blames (module docstring). Found as quarantine finds them: on the error path only."""
    tables = (transactions, items, inventory_periods, settings, accounting_periods)
    try:
        return cost_ledger(*tables)
    except NotSupportedYet:
        raise
    except InputError as exc:
        if _row_reasons(exc.problems) is None:
            raise
        try:
            refusals = _setting_aside(*tables, known=exc)[2]
        except NotSupportedYet:  # a prefix this version cannot cost: the problems as named
            raise exc from None
        raise InputError(refusals or exc.problems) from exc


def _setting_aside(transactions, items, inventory_periods, settings, accounting_periods,
                   known: InputError | None = None
                   ) -> tuple[Ledger, pl.DataFrame, list[Problem]]:
    """The ledger, the rows set aside, and the problems of the rows BC refuses (not of those set
    aside with them for their applies_to). `known`: what costing the whole of `transactions`
    raised already (it is not costed again)."""
    seen: dict[int, list[Problem]] = {}  # the problems costing last gave each row it named

    def named_by(exc: InputError, rows: pl.DataFrame) -> pl.DataFrame:
        """The rows `exc` names (transaction_no, reason, item_no, in transaction order)."""
        reasons = _row_reasons(exc.problems)
        if reasons is None:
            raise exc
        for no in {keyed_transaction(p) for p in exc.problems}:
            seen[no] = [p for p in exc.problems if keyed_transaction(p) == no]
        return reasons.join(rows.select("transaction_no", "item_no"),
                            on="transaction_no").sort("transaction_no")

    def attempt(rows: pl.DataFrame) -> tuple[Ledger | None, pl.DataFrame | None]:
        """The ledger of `rows`, or the rows its costing names."""
        nonlocal known
        if known is not None:  # the first attempt, of the whole history: raised already
            exc, known = known, None
            return None, named_by(exc, rows)
        try:
            return cost_ledger(rows, items, inventory_periods, settings, accounting_periods), None
        except NotSupportedYet:
            raise
        except InputError as exc:
            return None, named_by(exc, rows)

    rejected = [conform(transactions.clear().with_columns(reason=pl.lit(None, pl.String)),
                        RejectedTransaction)]
    refusals: list[Problem] = []
    doubted = None  # the items costed: None, all; else those whose first bad row just went
    for _ in range(MAX_ROUNDS):
        checked = transactions if doubted is None else transactions.join(
            doubted, on="item_no", how="semi")
        ledger, named = attempt(checked)
        if named is None:
            if doubted is None:
                refusals.sort(key=keyed_transaction)
                return ledger, pl.concat(rejected).sort("transaction_no"), refusals
            doubted = None  # the doubted items post now: the whole history once more
            continue
        first = _first_bad_rows(checked, named, lambda rows: attempt(rows)[1])
        for no, reason in first.select("transaction_no", "reason").iter_rows():
            refusals += ([Problem("transactions", transaction_row(no), None, None, reason)]
                         if reason.startswith(_BLAMED) else seen[no])
        out = set_aside(transactions, first.drop("item_no"), key="transaction_no")
        transactions = transactions.join(out.select("transaction_no"), on="transaction_no",
                                         how="anti")
        rejected.append(conform(out, RejectedTransaction))
        doubted = first.select("item_no")
    raise InputError([Problem("transactions", None, None, None,
                              f"R160: rows posting finds bad still found after {MAX_ROUNDS} "
                              "rounds of setting them aside")])


def _first_bad_rows(transactions: pl.DataFrame, named: pl.DataFrame, named_in) -> pl.DataFrame:
    """(transaction_no, reason, item_no): the first bad row of each item costing `transactions`
    `named` rows of, by bisection of the item's prefixes (`named_in(rows)`: the rows costing
    `rows` names, or None). Positions in an item's rows by transaction_no: the prefix up to `lo`
    posts (-1: the empty one), the prefix up to `hi` does not (at first the whole item); the span
    is halved until the two are adjacent. The row named is not always the bad one: a fixed
    application asking for more than its entry has left makes an earlier transfer out of that
    entry's location look short (R46)."""
    rows = transactions.select("item_no", "transaction_no").join(
        named.select("item_no").unique(), on="item_no").sort("item_no", "transaction_no")
    rows = rows.with_columns(pos=pl.int_range(pl.len()).over("item_no"))
    span = _blamed(rows.group_by("item_no").agg(pos=pl.col("pos").max()), rows, named).select(
        "item_no", "reason", lo=pl.lit(-1, pl.Int64), hi="pos")
    while (halving := span.filter(pl.col("hi") - pl.col("lo") > 1)).height:
        mid = halving.select("item_no", pos=(pl.col("lo") + pl.col("hi")) // 2)
        prefixes = transactions.join(
            mid.join(rows, on=["item_no", "pos"]).select("item_no", cut="transaction_no"),
            on="item_no").filter(pl.col("transaction_no") <= pl.col("cut")).drop("cut")
        found = named_in(prefixes)
        failed = _blamed(mid, rows, named.clear() if found is None else found)
        span = span.join(mid, on="item_no", how="left").join(
            failed.select("item_no", failed="pos", blame="reason"), on="item_no", how="left")
        span = span.select(
            "item_no", reason=pl.coalesce("blame", "reason"),
            lo=pl.when(pl.col("pos").is_not_null() & pl.col("failed").is_null()).then("pos")
            .otherwise("lo"),
            hi=pl.coalesce("failed", "hi"))
    return span.join(rows, left_on=["item_no", "hi"], right_on=["item_no", "pos"]).select(
        "transaction_no", "reason", "item_no")


def _blamed(cuts: pl.DataFrame, rows: pl.DataFrame, named: pl.DataFrame) -> pl.DataFrame:
    """The `cuts` (item_no, pos: the last row of a prefix) whose prefix costing `named` rows of,
    with the reason for that last row: its own when it is named, else the first named row's."""
    last = cuts.join(rows, on=["item_no", "pos"]).rename({"transaction_no": "last"})
    first = named.sort("transaction_no").unique("item_no", keep="first").rename(
        {"transaction_no": "first", "reason": "first_reason"})
    own = named.select(last="transaction_no", own_reason="reason")
    return last.join(first, on="item_no").join(own, on="last", how="left").select(
        "item_no", "pos", reason=pl.coalesce(
            "own_reason",
            pl.format(_BLAMED + " transaction {} is refused: {}", "first", "first_reason")))


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
