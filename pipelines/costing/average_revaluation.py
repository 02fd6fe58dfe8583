"""Per-pool revaluation of AVERAGE items (R85, R170.9).

A revaluation R without applies_to of an AVERAGE item is computed per average pool P:
`A = round(r_P·c) − round(r_P·u_P)`, with r_P the pool's revaluable quantity (R80) and u_P the
pool's unit cost from its value entries dated on or before d and created before R (adjustments of
entries posted before R included, at the current adjusted amounts); A is split over the revalued
entries by R3 with weights r_i in entry order.

u_P for every (pool, R) at once, without a product of revaluations and entries: the item's
per-item revaluations are nondecreasing in transaction and date (R160), so each value entry counts
from one rank of that sequence on, the first R posted after it and dated on or after its
valuation date; the pool's state at rank k is a cumulative sum over those ranks.
"""

from __future__ import annotations

import polars as pl

from pipelines.costing.by_entry import at_entry_no
from pipelines.costing.ledger import units_of
from pipelines.costing.revaluation import first_rank, with_at_new_cost
from pipelines.frames import where
from pipelines.rounding import round_to, with_cumulative_split, with_share


def pool_contributions(entries: pl.DataFrame, source_values: pl.DataFrame, pool: pl.Expr,
                       per_pool: pl.DataFrame) -> pl.DataFrame:
    """The static part of the contributions R85 can read: ILE rows and own cost entries of the
    AVERAGE entries posted before a per-pool revaluation `per_pool` of their item, by
    transaction and by date. The others never count (an entry's valuation date is never before
    its posting date), so they are neither read nor watched round after round.

    Columns: entry_no, item_no, pool, tx, q (entry rows only), v (cost source entries), kind
    ('entry' or 'value').
    """
    last = per_pool.group_by("item_no").agg(last_tx=pl.col("reval_tx").max(),
                                             last_date=pl.col("reval_date").max())
    avg = where(entries, pl.col("costing_method") == "AVERAGE", "entry_no", "item_no",
                "inbound", "receiving", "posting_date", pool=pool, tx="transaction_no",
                q="quantity").join(last, on="item_no").filter(
        (pl.col("tx") < pl.col("last_tx")) & (pl.col("posting_date") <= pl.col("last_date")))
    own = source_values.select(
        entry_no="item_ledger_entry_no", tx="transaction_no",
        v=pl.col("cost_amount_actual") + pl.col("cost_amount_expected"),
    ).join(avg.select("entry_no", "item_no", "pool", "last_tx"), on="entry_no").filter(
        pl.col("tx") < pl.col("last_tx"))
    return pl.concat([
        avg.with_columns(v=pl.lit(0.0), kind=pl.lit("entry")),
        own.with_columns(q=pl.lit(0.0), inbound=pl.lit(True), receiving=pl.lit(False),
                         kind=pl.lit("value")),
    ], how="diagonal_relaxed").drop("posting_date", "last_tx", "last_date")


def pool_revaluation_amounts(
    pairs: pl.DataFrame,
    revalued: pl.DataFrame,
    contributions: pl.DataFrame,
    vdates: pl.DataFrame,
    targets: pl.DataFrame,
    amounts: pl.DataFrame,
    p: float,
) -> pl.DataFrame:
    """R85 amounts of the per-item revaluations of AVERAGE items, per revalued entry.

    `pairs`: R80 rows of those revaluations, `revalued` of every revaluation of AVERAGE items
    (both with pool); `vdates` (entry_no, vdate) and `targets`
    (entry_no, target: outbounds and cost-receiving inbounds) are the current round's; `amounts`
    the current Revaluation amounts (reval_tx, inbound, amount), of which the earlier ones count.
    Returns reval_tx, inbound, r_units, amount.
    """
    per_item = (pairs.select("item_no", "reval_tx", "reval_date", "new_cost").unique()
                .sort("item_no", "reval_tx")
                .with_columns(rank=pl.int_range(pl.len()).over("item_no")))
    valued = (
        contributions.join(per_item.select("item_no").unique(), on="item_no", how="semi")
        .join(vdates, on="entry_no")
        .join(targets, on="entry_no", how="left")
        # an outbound or a cost-receiving entry counts at its adjusted cost (R85)
        .with_columns(v=pl.when((pl.col("kind") == "entry")
                                & (~pl.col("inbound") | pl.col("receiving")))
                      .then(pl.col("target").fill_null(0.0)).otherwise(pl.col("v")))
        .select("item_no", "pool", "tx", "vdate", "q", "v")
    )
    earlier = (
        amounts.join(revalued.select("reval_tx", "inbound", "item_no", "pool", "reval_date")
                     .unique(["reval_tx", "inbound"]), on=["reval_tx", "inbound"])
        .select("item_no", "pool", tx="reval_tx", vdate="reval_date", q=pl.lit(0.0),
                v="amount")
    )
    ranked = first_rank(pl.concat([valued, earlier]), per_item, "tx", "vdate", "from_rank")
    state = (
        ranked.filter(pl.col("from_rank").is_not_null())
        .group_by("pool", rank="from_rank").agg(pl.col("q", "v").sum())
    )
    pools = pairs.select("pool", "item_no").unique()
    grid = (
        pools.join(per_item, on="item_no")
        .join(state, on=["pool", "rank"], how="left")
        .sort("pool", "rank")
        .with_columns(pl.col("q", "v").fill_null(0.0).cum_sum().over("pool"))
    )
    r_pool = pairs.group_by("reval_tx", "pool").agg(r_pool=pl.col("r_units").sum())
    # round(r·c) - round(r·v/q): the pool's quantity revalued at the new cost and at its
    # average cost, each exact near a tie
    amount = with_at_new_cost(grid.join(r_pool, on=["reval_tx", "pool"]), "r_pool", p)
    empty = pl.col("q_units") == 0
    amount = with_share(amount.with_columns(q_units=units_of(pl.col("q"))), "at_average",
                        pl.when(empty).then(0.0).otherwise("v"), pl.col("r_pool"),
                        pl.when(empty).then(1).otherwise("q_units"), p).select(
        "reval_tx", "pool", "r_pool",
        pool_amount=round_to(pl.col("at_new_cost") - pl.col("at_average"), p))
    split = (pairs.join(amount, on=["reval_tx", "pool"]).sort("reval_tx", "pool", "inbound")
             .with_columns(group=pl.struct("reval_tx", "pool").rank("dense")))
    return with_cumulative_split(split, "amount", pl.col("pool_amount"), pl.col("r_units"),
                                 pl.col("r_pool"), p, over="group").select(
        "reval_tx", "inbound", "r_units", "amount")


def amounts_in_place(
    pairs: pl.DataFrame,
    revalued: pl.DataFrame,
    contributions: pl.DataFrame,
    vdates: pl.DataFrame,
    targets: pl.DataFrame,
    amounts: pl.DataFrame,
    p: float,
    eps: float,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """R85, R170.15: `pool_revaluation_amounts` in place, in transaction order: each amount reads
    the earlier ones' new amounts. Computed all at once, each reads the earlier ones' old
    amounts (a chain of revaluations of one pool can then swing round after round and never
    settle), so the computation repeats until none moves: at most once per revaluation of an
    item, and only for the items with more than one per-pool revaluation whose amounts just
    moved (an item's amounts read only its own earlier ones). Returns the amounts and the
    inbounds whose amounts moved (inbound)."""
    chained = pairs.group_by("item_no").agg(n=pl.col("reval_tx").n_unique()).filter(
        pl.col("n") > 1).select("item_no")
    item_of = revalued.select("inbound", "item_no").unique()
    moved = []
    for _ in range(pairs.get_column("reval_tx").n_unique() + 1):
        new = pool_revaluation_amounts(pairs, revalued, contributions, vdates, targets, amounts,
                                       p)
        step = moved_amounts(new, amounts, eps)
        if step.height == 0:
            break
        amounts = amounts.update(step, on=["reval_tx", "inbound"])
        moved.append(step.select("inbound"))
        items = step.join(item_of, on="inbound").select("item_no").unique().join(
            chained, on="item_no", how="semi")
        if items.height == 0:
            break
        pairs, revalued, contributions = (frame.join(items, on="item_no", how="semi")
                                          for frame in (pairs, revalued, contributions))
        read = contributions.select("entry_no").unique()
        vdates, targets = (frame.join(read, on="entry_no", how="semi")
                           for frame in (vdates, targets))
    return amounts, (pl.concat(moved).unique() if moved
                     else pl.DataFrame(schema={"inbound": pl.Int64}))


def after_entry(pairs: pl.DataFrame, entries: pl.DataFrame) -> pl.DataFrame:
    """Adds `after_entry`: the last item ledger entry posted before the revaluation (R96 step 1).

    Entries are numbered 1..n in transaction order (R11), so their transaction numbers in entry
    order are sorted, and the entries posted before a transaction are the first k of them."""
    posted = at_entry_no(entries.get_column("entry_no"), entries.get_column("transaction_no"),
                         entries.height)
    pairs = pairs.sort("reval_tx")
    return pairs.with_columns(
        after_entry=posted.search_sorted(pairs.get_column("reval_tx"), side="left")
        .cast(pl.Int64))


def pool_events_of(revalued: pl.DataFrame, amounts: pl.DataFrame) -> pl.DataFrame:
    """The Revaluation entries of AVERAGE entries as pool events (average.pool_events)."""
    return revalued.join(amounts.select("reval_tx", "inbound", "amount"),
                         on=["reval_tx", "inbound"]).select(
        "inbound", "reval_tx", "reval_date", "amount", "after_entry")


def moved_amounts(new: pl.DataFrame, amounts: pl.DataFrame, eps: float) -> pl.DataFrame:
    """The rows of `new` whose amount differs from the one in `amounts`."""
    return new.join(amounts.select("reval_tx", "inbound", old="amount"),
                    on=["reval_tx", "inbound"], how="left").filter(
        pl.col("old").is_null() | ((pl.col("amount") - pl.col("old")).abs() > eps)
    ).drop("old")
