"""Revaluation of FIFO, LIFO, SPECIFIC and STANDARD items (R80-R84, R92).

A revaluation `R` (date d, new unit cost c) revalues the units of an inbound entry still on hand
at d as far as was known when R was posted (R80). Which entries that is depends on quantities
only, so the (R, entry) pairs are found once; their amounts (R81) depend on the entry's adjusted
cost only for cost-receiving entries, and are recomputed when those change (R60, R170.15).

Enumeration without a product of revaluations and entries: per item, the per-item revaluations
are nondecreasing in both transaction and date (R160), so an entry is revaluable for a contiguous
run of them, from the first posted after it (and after its last invoice) and dated on or after it,
to the first that counts every outbound that consumed it.
"""

from __future__ import annotations

import polars as pl

from pipelines.costing.ledger import COST_DECIMALS, QTY_SCALE, quantity_of, units_of
from pipelines.frames import where
from pipelines.rounding import Fixed, decimals_of, exact_near_ties, round_to, with_share
from schemas.base import Code
from schemas.inputs import QUANTITY_DECIMALS

_REVALUATION = pl.col("type") == "revaluation"


def revaluations(transactions: pl.DataFrame) -> pl.DataFrame:
    """The revaluation rows: reval_tx, item_no, reval_date, new_cost, applies_to (their texts
    reach their value entries by transaction, `posted_value_entries`)."""
    return where(
        transactions, _REVALUATION, pl.col("transaction_no").alias("reval_tx"), "item_no",
        pl.col("posting_date").alias("reval_date"), pl.col("unit_cost").alias("new_cost"),
        "applies_to",
    )


def standard_cost_in_force(entries: pl.DataFrame, transactions: pl.DataFrame) -> pl.DataFrame:
    """R84: a per-item revaluation of a STANDARD item sets the standard cost of later entries."""
    per_item = (
        revaluations(transactions).filter(pl.col("applies_to").is_null())
        .select("item_no", "reval_tx", "new_cost").sort("reval_tx")
    )
    if per_item.height == 0:
        return entries
    in_force = (
        where(entries, pl.col("costing_method") == "STANDARD",
              "entry_no", "item_no", "transaction_no").sort("transaction_no")
        .join_asof(per_item, left_on="transaction_no", right_on="reval_tx", by="item_no",
                   strategy="backward", allow_exact_matches=False, check_sortedness=False)
        .filter(pl.col("new_cost").is_not_null())
        .select("entry_no", standard_in_force="new_cost")
    )
    return entries.join(in_force, on="entry_no", how="left", maintain_order="left").with_columns(
        standard_cost=pl.coalesce("standard_in_force", "standard_cost")).drop("standard_in_force")


def _inbound_facts(entries: pl.DataFrame, applications: pl.DataFrame,
                   source_values: pl.DataFrame, items: pl.Series) -> pl.DataFrame:
    """Per inbound entry of `items`: when it became completely invoiced, and the last outbound
    consuming it.

    `invoiced_tx` is null for a receipt never completely invoiced (never revaluable, R80); other
    inbound entries are invoiced when posted, and STANDARD entries need no invoice.
    """
    revalued = pl.col("item_no").is_in(items.implode())  # a few of the items, as a rule
    out = where(entries, ~pl.col("inbound") & revalued, pl.col("entry_no").alias("outbound"),
                o_tx="transaction_no", o_date="posting_date")
    consumed = applications.lazy().join(out.lazy(), on="outbound").group_by("inbound").agg(
        applied=pl.col("units").sum(), last_o_tx=pl.col("o_tx").max(),
        last_o_date=pl.col("o_date").max()).collect()
    receipts = where(entries, (pl.col("type") == "purchase_receipt") & revalued,
                     inbound="entry_no", receipt_units="units")
    completed = (
        source_values.filter(pl.col("invoiced_quantity") != 0)
        .select(pl.col("item_ledger_entry_no").alias("inbound"), "transaction_no",
                n=(pl.col("invoiced_quantity") * QTY_SCALE).round().cast(pl.Int64))
        .join(receipts, on="inbound")
        .sort("inbound", "transaction_no")
        .filter(pl.col("n").cum_sum().over("inbound") == pl.col("receipt_units"))
        .group_by("inbound").agg(completed_tx=pl.col("transaction_no").min())
    )
    receipt = (pl.col("type") == "purchase_receipt") & (pl.col("costing_method") != "STANDARD")
    return (
        where(entries, pl.col("inbound") & revalued, pl.col("entry_no").alias("inbound"),
              "item_no", "type", "costing_method", "units", in_tx="transaction_no",
              in_date="posting_date")
        .join(consumed, on="inbound", how="left")
        .join(completed, on="inbound", how="left")
        .with_columns(
            invoiced_tx=pl.when(receipt).then(pl.col("completed_tx")).otherwise(pl.col("in_tx")),
            full=pl.col("applied").fill_null(0) == pl.col("units"),
        )
        .drop("completed_tx", "type", "units")
    )


def first_rank(left: pl.DataFrame, per_item: pl.DataFrame, tx: str, date: str,
                name: str) -> pl.DataFrame:
    """Rank of the item's first per-item revaluation with reval_tx > `tx` and reval_date >= `date`.

    Null when there is none. Both columns of the sequence are nondecreasing in rank (R160), so the
    answer is the later of the two one-sided first ranks.
    """
    by_tx = per_item.select("item_no", "reval_tx", r_tx="rank")
    by_date = per_item.group_by("item_no", "reval_date").agg(r_date=pl.col("rank").min())
    return (
        left.sort(tx)
        .join_asof(by_tx, left_on=tx, right_on="reval_tx", by="item_no", strategy="forward",
                   allow_exact_matches=False, check_sortedness=False)
        .sort(date)
        .join_asof(by_date.sort("reval_date"), left_on=date, right_on="reval_date", by="item_no",
                   strategy="forward", check_sortedness=False)
        .with_columns(pl.max_horizontal("r_tx", "r_date").alias(name))
        .with_columns(pl.when(pl.col("r_tx").is_null() | pl.col("r_date").is_null())
                      .then(None).otherwise(pl.col(name)).alias(name))
        .drop("reval_tx", "reval_date", "r_tx", "r_date")
    )


def revalued_entries(
    transactions: pl.DataFrame,
    entries: pl.DataFrame,
    applications: pl.DataFrame,
    source_values: pl.DataFrame,
) -> pl.DataFrame:
    """R80: one row per (revaluation, revalued inbound entry) with its revaluable units r.

    Columns: reval_tx, inbound, item_no, reval_date, new_cost, r_units, base (the entry's own
    cost entries before R dated on or before d, R81), receiving, plus R's document columns.
    """
    revals = revaluations(transactions)
    facts = _inbound_facts(entries, applications, source_values,
                           revals.get_column("item_no").unique()).filter(
        pl.col("invoiced_tx").is_not_null())
    per_item = (revals.filter(pl.col("applies_to").is_null()).sort("item_no", "reval_tx")
                .with_columns(rank=pl.int_range(pl.len()).over("item_no")))
    alive = first_rank(facts.with_columns(after=pl.max_horizontal("in_tx", "invoiced_tx")),
                        per_item, "after", "in_date", "born")
    alive = alive.filter(pl.col("born").is_not_null())
    alive = pl.concat([
        first_rank(alive.filter(pl.col("full")), per_item, "last_o_tx", "last_o_date", "dead"),
        alive.filter(~pl.col("full")).with_columns(dead=pl.lit(None, dtype=pl.UInt32)),
    ], how="diagonal_relaxed")
    n = per_item.group_by("item_no").agg(n=pl.len())
    pairs = (
        alive.join(n, on="item_no")
        .with_columns(dead=pl.when(pl.col("full")).then(pl.coalesce("dead", "n"))
                      .otherwise(pl.col("n")))
        .filter(pl.col("dead") > pl.col("born"))
        .select("inbound", "item_no", rank=pl.int_ranges("born", "dead"))
        .explode("rank")
        .join(per_item, on=["item_no", "rank"])
        .drop("rank")
    )
    named = (  # with applies_to: that entry only, if revaluable (R80, R170.1)
        revals.filter(pl.col("applies_to").is_not_null())
        .join(where(entries, pl.col("inbound"), pl.col("transaction_no").alias("applies_to"),
                    inbound="entry_no"), on="applies_to")
        .join(facts, on=["inbound", "item_no"])
        .filter((pl.col("reval_tx") > pl.max_horizontal("in_tx", "invoiced_tx"))
                & (pl.col("reval_date") >= pl.col("in_date"))
                & ~(pl.col("full") & (pl.col("last_o_tx") < pl.col("reval_tx"))
                    & (pl.col("last_o_date") <= pl.col("reval_date"))))
        .select(pairs.columns)
    )
    pairs = pl.concat([pairs, named])
    out = where(entries, ~pl.col("inbound"), pl.col("entry_no").alias("outbound"),
                o_tx="transaction_no", o_date="posting_date")
    counted = (
        pairs.select("reval_tx", "inbound", "reval_date")
        .join(applications.select("inbound", "outbound", "units"), on="inbound")
        .join(out, on="outbound")
        .filter((pl.col("o_tx") < pl.col("reval_tx")) & (pl.col("o_date") <= pl.col("reval_date")))
        .group_by("reval_tx", "inbound").agg(counted=pl.col("units").sum())
    )
    base = (
        pairs.select("reval_tx", "inbound", "reval_date")
        .join(source_values.select(pl.col("item_ledger_entry_no").alias("inbound"),
                                   "transaction_no", "posting_date",
                                   value=pl.col("cost_amount_actual")
                                   + pl.col("cost_amount_expected")), on="inbound")
        .filter((pl.col("transaction_no") < pl.col("reval_tx"))
                & (pl.col("posting_date") <= pl.col("reval_date")))
        .group_by("reval_tx", "inbound").agg(base=pl.col("value").sum())
    )
    return (
        pairs.join(counted, on=["reval_tx", "inbound"], how="left")
        .join(base, on=["reval_tx", "inbound"], how="left")
        .join(entries.select(pl.col("entry_no").alias("inbound"), "units", "quantity",
                             "receiving", "costing_method", "key_id"), on="inbound")
        .with_columns(r_units=pl.col("units") - pl.col("counted").fill_null(0),
                      base=pl.col("base").fill_null(0.0))
        .filter(pl.col("r_units") > 0)
        .drop("counted", "units")
        .sort("inbound", "reval_tx")
    )


def with_at_new_cost(frame: pl.DataFrame, units: str, p: float) -> pl.DataFrame:
    """`at_new_cost` = round(r·c), `units` of quantity at the revaluation's new unit cost
    `new_cost` (R81, R85); exact near a tie (a product of decimals, like R21's)."""
    approx = pl.col(units) / QTY_SCALE * pl.col("new_cost")
    exact = (Fixed(pl.col(units).cast(pl.Int128), QUANTITY_DECIMALS)
             * Fixed.of(pl.col("new_cost"), COST_DECIMALS)).rounded(p)
    return exact_near_ties(frame.with_columns(at_new_cost=round_to(approx, p)), "at_new_cost",
                           approx, exact, p)


def revaluation_amounts(pairs: pl.DataFrame, targets: pl.DataFrame, p: float,
                        prior: pl.DataFrame | None = None) -> pl.DataFrame:
    """R81: A_R = round(r·c) − round(r·u) with u the entry's unit value as of R.

    `targets` (inbound, target): the adjusted cost of cost-receiving entries, part of u. u also
    counts the entry's earlier revaluations (A/r each), so an entry's k-th revaluation needs its
    first k−1: one step per revaluation of the most-revalued entry. `prior` (reval_tx, inbound,
    r_units, amount): other revaluations of the same entries computed elsewhere (per pool, R85),
    counted when earlier. Returns reval_tx, inbound, r_units, amount.
    """
    nonzero = pl.col("amount") != 0
    rows = (
        pairs.join(targets, on="inbound", how="left")
        .with_columns(
            # a sum of amounts carries float dust (a STANDARD purchase's direct cost and its
            # variance: 4.999999999534339), which moves r·u away from a tie: the decimal it is
            value=(pl.col("base") + pl.col("target").fill_null(0.0)).round(decimals_of(p)),
            r=pl.col("r_units") / QTY_SCALE,
            k=pl.int_range(pl.len()).over("inbound"),
            prior_per_unit=pl.lit(0.0), prior_terms=pl.lit(0, pl.UInt32),
            prior_a1=pl.lit(None, pl.Float64), prior_r1=pl.lit(None, pl.Int64),
        )
    )
    if prior is not None and prior.height and rows.height:
        before = (
            rows.select("reval_tx", "inbound")
            .join(prior.select("inbound", "amount", "r_units", prior_tx="reval_tx"),
                  on="inbound")
            .filter(pl.col("prior_tx") < pl.col("reval_tx"))
            .group_by("reval_tx", "inbound").agg(
                prior_per_unit=(pl.col("amount") / (pl.col("r_units") / QTY_SCALE)).sum(),
                prior_terms=nonzero.sum(), prior_a1=pl.col("amount").filter(nonzero).first(),
                prior_r1=pl.col("r_units").filter(nonzero).first())
        )
        rows = rows.drop("prior_per_unit", "prior_terms", "prior_a1", "prior_r1").join(
            before, on=["reval_tx", "inbound"], how="left").with_columns(
            pl.col("prior_per_unit").fill_null(0.0), pl.col("prior_terms").fill_null(0))
    done = []
    # per entry, its revaluations so far: A/r summed, how many are not zero, the first of those
    earlier = pl.DataFrame(schema={"inbound": pl.Int64, "earlier": pl.Float64,
                                   "terms": pl.UInt32, "a1": pl.Float64, "r1": pl.Int64})
    for k in range(int(rows.get_column("k").max() or 0) + 1 if rows.height else 0):
        if done:
            earlier = pl.concat([earlier, done[-1].select(
                "inbound", earlier=pl.col("amount") / (pl.col("r_units") / QTY_SCALE),
                terms=nonzero.cast(pl.UInt32), a1=pl.when(nonzero).then("amount"),
                r1=pl.when(nonzero).then("r_units"))]).group_by("inbound").agg(
                pl.col("earlier").sum(), pl.col("terms").sum(),
                pl.col("a1").drop_nulls().first(), pl.col("r1").drop_nulls().first())
        step = with_at_new_cost(
            rows.filter(pl.col("k") == k).join(earlier, on="inbound", how="left"), "r_units", p)
        # round(r·u), u the entry's value per unit plus the earlier revaluations' amounts per
        # unit: exact near a tie with none (a share of the value) or one (`_at_unit_value`)
        step = with_share(step, "at_unit", pl.col("value"), pl.col("r_units"),
                          units_of(pl.col("quantity")), p)
        step = _at_unit_value(step.with_columns(
            earlier_per_unit=pl.col("prior_per_unit") + pl.col("earlier").fill_null(0.0),
            terms=pl.col("prior_terms") + pl.col("terms").fill_null(0),
            a1=pl.coalesce("a1", "prior_a1"), r1=pl.coalesce("r1", "prior_r1")), p)
        step = step.with_columns(amount=round_to(pl.col("at_new_cost") - pl.col("at_unit"), p))
        done.append(step.select("reval_tx", "inbound", "r_units", "amount"))
    if not done:
        return pl.DataFrame(schema={"reval_tx": pl.Int64, "inbound": pl.Int64,
                                    "r_units": pl.Int64, "amount": pl.Float64})
    return pl.concat(done)


def _at_unit_value(step: pl.DataFrame, p: float) -> pl.DataFrame:
    """R81's round(r·u) where earlier revaluations of the entry count in u (`earlier_per_unit`,
    their A/r summed): in floats, and exactly near a tie when there is one non-zero term `a1`
    over `r1` units (r·(V/q + a1/r1) = r·(V·r1 + a1·q) / (q·r1), below 10^38 in Int128 for
    entries of up to a million units and amounts of 10^8); with more terms, floats only."""
    r, r1, q = (Fixed(c.cast(pl.Int128), 0) for c in (
        pl.col("r_units"), pl.col("r1"), units_of(pl.col("quantity"))))
    scale = decimals_of(p)
    exact = (r * (Fixed.of(pl.col("value"), scale) * r1 + Fixed.of(pl.col("a1"), scale) * q)
             ).rounded(p, over=q * r1)
    approx = pl.col("r") * (pl.col("value") / pl.col("quantity") + pl.col("earlier_per_unit"))
    step = step.with_columns(at_unit=pl.when(pl.col("terms") == 0).then("at_unit")
                             .otherwise(round_to(approx, p)))
    return exact_near_ties(step, "at_unit", pl.when(pl.col("terms") == 1).then(approx), exact,
                           p)


def revaluation_links(pairs: pl.DataFrame, entries: pl.DataFrame,
                      applications: pl.DataFrame) -> pl.DataFrame:
    """R83 and R92 per (revaluation, quantity application of the revalued entry).

    `affects`: the outbound was not counted in r (posted after R, or dated after d) and receives
    round(a·A/r). `dates`: R existed when the outbound was applied, so R's date is among the
    valuation dates the outbound's own valuation date is the latest of (R92).
    """
    out = where(entries, ~pl.col("inbound"), pl.col("entry_no").alias("outbound"),
                o_tx="transaction_no", o_date="posting_date")
    return (
        pairs.select("reval_tx", "inbound", "reval_date")
        .join(applications.select("inbound", "outbound", "units"), on="inbound")
        .join(out, on="outbound")
        .with_columns(
            affects=(pl.col("o_tx") > pl.col("reval_tx"))
            | (pl.col("o_date") > pl.col("reval_date")),
            dates=pl.col("o_tx") > pl.col("reval_tx"),
        )
        .filter(pl.col("affects") | pl.col("dates"))
        .select("reval_tx", "inbound", "outbound", "units", "reval_date", "affects", "dates")
    )


def shares_per_outbound(links: pl.DataFrame, amounts: pl.DataFrame, p: float) -> pl.DataFrame:
    """R71, R92: per outbound, Σ round(a·A/r) over revaluations reaching it, and their latest date.

    Columns: entry_no, reval_shares, reval_date.
    """
    linked = with_share(links.join(amounts, on=["reval_tx", "inbound"]), "share",
                        pl.col("amount"), pl.col("units"), pl.col("r_units"), p)
    return (
        linked.with_columns(share=pl.when(pl.col("affects")).then("share").otherwise(0.0))
        .group_by(pl.col("outbound").alias("entry_no"))
        .agg(reval_shares=pl.col("share").sum(),
             reval_date=pl.col("reval_date").filter(pl.col("dates")).max())
    )


def revaluation_value_entries(pairs: pl.DataFrame, amounts: pl.DataFrame) -> pl.DataFrame:
    """R81, R170.4: one Revaluation value entry per revalued entry, even at 0.00, dated d."""
    return (
        pairs.join(amounts.select("reval_tx", "inbound", "amount"), on=["reval_tx", "inbound"])
        .select(
            pl.col("inbound").alias("item_ledger_entry_no"),
            pl.col("reval_tx").alias("transaction_no"), pl.lit(0).alias("seq"),
            pl.lit("Revaluation", dtype=Code).alias("entry_type"),
            pl.col("reval_date").alias("posting_date"),
            pl.lit(0.0).alias("item_ledger_entry_quantity"),
            quantity_of(pl.col("r_units")).alias("valued_quantity"),
            pl.lit(0.0).alias("invoiced_quantity"),
            pl.col("amount").alias("cost_amount_actual"),
            pl.lit(0.0).alias("cost_amount_expected"), pl.lit(False).alias("expected_cost"),
            pl.lit(0.0).alias("sales_amount_actual"),
            pl.col("reval_date").alias("valuation_date"),  # R92
        )
    )
