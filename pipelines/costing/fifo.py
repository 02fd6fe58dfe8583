"""Cost at posting and Adjust Cost along quantity applications (R50-R53, R60-R63, R70-R76, R92).

Costs flow along applications only (R75): an outbound's target is minus the shares it received from
the inbound entries applied to it (R71, R72); a transfer's to-leg receives its from-leg's cost (R73)
and a sales return with applies_to its sale's (R74). Chains (purchase -> transfer -> sale -> return)
are a fixed point (R60): each round recomputes only the outbounds whose inbounds changed, so the
number of rounds is the longest chain, and the work is the entries that changed.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from pipelines.costing import average, revaluation
from pipelines.costing import average_revaluation as pooled_revaluation
from pipelines.costing.ledger import QTY_SCALE
from pipelines.costing.unsettled import posting_amounts, unsettled_items
from pipelines.rounding import cumulative_split, round_to
from pipelines.settings import Settings

MAX_ROUNDS = 100  # R60: BC caps its recursion at 100 levels the same way
_CENT_EPS = 1e-6

class Settled(NamedTuple):
    """The fixed point of R60: outbound results, the final inbound table, the revaluation
    amounts, and the items that did not settle in MAX_ROUNDS rounds (item_no)."""

    outbound: pl.DataFrame
    inbound: pl.DataFrame
    amounts: pl.DataFrame | None
    unsettled: pl.DataFrame


RESULT_SCHEMA = {"entry_no": pl.Int64, "cost_at_posting": pl.Float64, "target": pl.Float64,
                 "valuation_date": pl.Date}


def inbound_table(entries: pl.DataFrame, source_values: pl.DataFrame) -> pl.DataFrame:
    """R70: per inbound entry its quantity, date, and the value of its own cost entries."""
    sums = source_values.group_by(pl.col("item_ledger_entry_no").alias("inbound")).agg(
        source_base=(pl.col("cost_amount_actual") + pl.col("cost_amount_expected")).sum(),
        invoiced=pl.col("invoiced_quantity").sum(),
        last_tx=pl.col("transaction_no").max(),
    )
    return (
        entries.filter(pl.col("inbound"))
        .select(pl.col("entry_no").alias("inbound"), pl.col("quantity").alias("q_in"),
                pl.col("units").alias("q_units"), pl.col("posting_date").alias("vdate"),
                pl.col("transaction_no").alias("in_tx"), "receiving", "costing_method")
        .join(sums, on="inbound", how="left", maintain_order="left")
        .with_columns(
            pl.col("source_base", "invoiced").fill_null(0.0),
            # invoices and charges posted after the entry were unknown to earlier outbounds (R50)
            late=pl.col("last_tx").fill_null(0) > pl.col("in_tx"),
            target=pl.lit(0.0), at_posting=pl.lit(0.0),
        )
        .with_columns(invoiced=pl.when(pl.col("receiving")).then(pl.col("q_in"))
                      .otherwise(pl.col("invoiced")))
        .drop("last_tx")
    )


def _with_known(asks: pl.DataFrame, inbound: pl.DataFrame,
                source_values: pl.DataFrame) -> pl.DataFrame:
    """R50: adds `known`, the inbound's value from entries created before the asking transaction.

    `asks` has columns inbound, ask_tx. known = final base - the received target not yet known
    (its cost at posting is) - the entries posted after the asking transaction.
    """
    asks = asks.join(
        inbound.select("inbound", "q_in", "vdate", "late",
                       base=pl.col("source_base") + pl.col("target"),
                       shift=pl.col("target") - pl.col("at_posting")),
        on="inbound", how="left",
    ).with_columns(pl.col("late").fill_null(False))
    late = asks.filter(pl.col("late"))
    asks = asks.filter(~pl.col("late")).with_columns(not_yet=pl.lit(0.0))
    if late.height:
        later = (
            source_values.join(late.select(pl.col("inbound").unique()),
                               left_on="item_ledger_entry_no", right_on="inbound", how="semi")
            .group_by(pl.col("item_ledger_entry_no").alias("inbound"), "transaction_no")
            .agg(value=(pl.col("cost_amount_actual") + pl.col("cost_amount_expected")).sum())
            .sort("inbound", "transaction_no", descending=[False, True])
            .with_columns(not_yet=pl.col("value").cum_sum().over("inbound"))
            .sort("inbound", "transaction_no")
            .select("inbound", "transaction_no", "not_yet")
        )
        late = late.sort("inbound", "ask_tx").join_asof(
            later, left_on="ask_tx", right_on="transaction_no", by="inbound",
            strategy="forward", allow_exact_matches=False, check_sortedness=False,
        ).drop("transaction_no").with_columns(pl.col("not_yet").fill_null(0.0))
        asks = pl.concat([asks, late], how="diagonal_relaxed")
    return asks.with_columns(known=pl.col("base") - pl.col("shift") - pl.col("not_yet"))


def outbound_table(entries: pl.DataFrame) -> pl.DataFrame:
    """Outbound entries with u0's entry (R51): the key's last inbound entry posted before it."""
    return (
        entries.with_columns(
            u0_entry=pl.when(pl.col("inbound")).then(pl.col("entry_no"))
            .forward_fill().over("key_id"))
        .filter(~pl.col("inbound"))
        .select("entry_no", "u0_entry", "units", "posting_date",
                pl.col("transaction_no").alias("ask_tx"),
                # R170.7: a STANDARD item's unapplied quantity is valued at the standard cost
                standard=pl.when(pl.col("costing_method") == "STANDARD")
                .then(pl.col("standard_cost")))
    )


def outbound_costs(
    outbounds: pl.DataFrame,
    inbound: pl.DataFrame,
    applications: pl.DataFrame,
    source_values: pl.DataFrame,
    settings: Settings,
    revalued: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per outbound entry: cost at posting C (R51), target T (R72), valuation date (R92).

    `revalued` (entry_no, reval_shares, reval_date): what revaluations add to the shares (R71,
    R83) and the dates they add to the valuation date (R92)."""
    p = settings.amount_rounding_precision
    apps = _with_known(
        applications.join(outbounds.select(pl.col("entry_no").alias("outbound"), "ask_tx"),
                          on="outbound"),
        inbound, source_values,
    )
    a = pl.col("units") / QTY_SCALE
    per_out = apps.with_columns(
        share=round_to(a * pl.col("base") / pl.col("q_in"), p),  # R71
        posted=pl.when(pl.col("at_posting"))
        .then(round_to(a * pl.col("known") / pl.col("q_in"), p)).otherwise(0.0),
    ).group_by(pl.col("outbound").alias("entry_no")).agg(
        applied=pl.col("units").sum(),
        applied_at_posting=pl.col("units").filter(pl.col("at_posting")).sum(),
        shares=pl.col("share").sum(),
        posted=pl.col("posted").sum(),
        in_date=pl.col("vdate").max(),
    )
    out = _with_known(outbounds.rename({"u0_entry": "inbound"}), inbound, source_values).join(
        per_out, on="entry_no", how="left"
    ).with_columns(pl.col("applied", "applied_at_posting").fill_null(0),
                   pl.col("shares", "posted").fill_null(0.0))
    if revalued is not None and revalued.height:
        out = out.join(revalued, on="entry_no", how="left").with_columns(
            shares=pl.col("shares") + pl.col("reval_shares").fill_null(0.0),
            in_date=pl.max_horizontal("in_date", "reval_date"))
    u0 = pl.coalesce(
        "standard",
        pl.when(pl.col("q_in") > 0).then(pl.col("known") / pl.col("q_in")).otherwise(0.0))
    return out.select(
        "entry_no",
        (pl.col("posted")
         + round_to((pl.col("units") - pl.col("applied_at_posting")) / QTY_SCALE * u0, p)
         ).alias("cost_at_posting"),
        (-pl.col("shares")
         - round_to((pl.col("units") - pl.col("applied")) / QTY_SCALE * u0, p)).alias("target"),
        pl.max_horizontal("posting_date", "in_date").alias("valuation_date"),
    )


def received_values(
    receiving: pl.DataFrame, results: pl.DataFrame, settings: Settings
) -> pl.DataFrame:
    """R52, R73, R74: what cost-receiving inbounds get from their source outbound.

    A to-leg: +C at posting, -T(from-leg) as target, the from-leg's valuation date. Returns of a
    sale: round(C_s·q_r/|q_s|) at posting, the cumulative split of -T(s) as targets.
    """
    p = settings.amount_rounding_precision
    src = receiving.join(
        results.rename({"entry_no": "source_entry", "valuation_date": "source_vdate"}),
        on="source_entry", how="left",
    ).sort("source_entry", "inbound")
    transfer = pl.col("type") == "transfer"
    share = pl.col("q_in") / pl.col("source_q")
    return src.select(
        "inbound",
        at_posting=pl.when(transfer).then(pl.col("cost_at_posting"))
        .otherwise(round_to(pl.col("cost_at_posting") * share, p)),
        target=pl.when(transfer).then(-pl.col("target"))
        .otherwise(cumulative_split(-pl.col("target"), pl.col("q_in"), pl.col("source_q"), p,
                                    over="source_entry")),
        vdate=pl.when(transfer).then(pl.col("source_vdate")).otherwise(pl.col("posting_date")),
    )


def settle_costs(
    entries: pl.DataFrame,
    source_values: pl.DataFrame,
    applications: pl.DataFrame,
    settings: Settings,
    accounting_periods: pl.DataFrame | None = None,
    revalued: pl.DataFrame | None = None,
    reval_links: pl.DataFrame | None = None,
) -> Settled:
    """R60: the fixed point of targets.

    Each round updates the revaluation amounts of the entries whose cost changed (R81, R170.15),
    recomputes the outbounds whose inbounds changed, then every average pool (§8), whose valued
    decreases replace the application-based targets.
    """
    p = settings.amount_rounding_precision
    inbound = inbound_table(entries, source_values)
    outbounds = outbound_table(entries)
    receiving = entries.filter(pl.col("receiving")).select(
        pl.col("entry_no").alias("inbound"), "source_entry", "type", "posting_date",
        pl.col("quantity").alias("q_in"),
    ).join(entries.select(pl.col("entry_no").alias("source_entry"),
                          source_q=pl.col("quantity").abs()), on="source_entry")
    averaged = entries.filter(pl.col("costing_method") == "AVERAGE").select(  # pool_events's
        "entry_no", "item_no", "key_id", "inbound", "receiving", "source_entry", "type", "leg",
        "units", "quantity", "applies_to_entry")
    # R93: the pool, not the application, values these decreases; their application-based
    # target is only a placeholder until their pool is recomputed
    by_pool = averaged.filter(~pl.col("inbound") & pl.col("applies_to_entry").is_null()).select(
        "entry_no")
    # R99: under calc type item the to-leg of a decrease valued by its pool is held back in its
    # own pool, so its received cost never enters a pool: its cost moving (not its date, which
    # dates its charges) is no reason to recompute one
    outside_pools = averaged.filter(
        pl.lit(settings.average_cost_calc_type == "item") & (pl.col("type") == "transfer")
        & pl.col("receiving")
    ).join(by_pool.select(source_entry="entry_no"), on="source_entry", how="semi").select(
        pl.col("entry_no").alias("inbound"))
    results = pl.DataFrame(schema=RESULT_SCHEMA)
    todo = outbounds
    amounts = avg_revalued = per_pool = None
    if revalued is not None:
        pool = (pl.col("item_no") if settings.average_cost_calc_type == "item"
                else pl.col("key_id").cast(pl.String))
        avg_revalued = pooled_revaluation.after_entry(
            revalued.filter(pl.col("costing_method") == "AVERAGE").with_columns(pool=pool),
            entries)
        per_pool = avg_revalued.filter(pl.col("applies_to").is_null())  # R85
        revalued = revalued.join(per_pool, on=["reval_tx", "inbound"], how="anti")  # R81
        amounts = pl.concat([
            revaluation.revaluation_amounts(revalued, inbound.select("inbound", "target"), p),
            per_pool.select("reval_tx", "inbound", "r_units", amount=pl.lit(0.0)),
        ])
        contributions = pooled_revaluation.pool_contributions(entries, source_values, pool)
        # the entries whose cost or date the R85 amounts read: of the items revalued per pool
        reval_inputs = contributions.join(per_pool.select("item_no").unique(), on="item_no",
                                          how="semi").select("entry_no").unique()
    amounts_moved = True  # R85 amounts read the other amounts: recomputed after they move
    targets = None  # the average costs of the last round: the next round starts from them
    item_of = entries.select("entry_no", "item_no")
    inputs_moved = None  # entries whose cost inputs moved last round (None: the first round)
    for _ in range(MAX_ROUNDS):
        reval = None if reval_links is None else revaluation.shares_per_outbound(
            reval_links.join(todo.select(pl.col("entry_no").alias("outbound")), on="outbound",
                             how="semi"), amounts, p)
        fresh = outbound_costs(todo, inbound, applications.join(
            todo.select(pl.col("entry_no").alias("outbound")), on="outbound", how="semi"),
            source_values, settings, reval)
        pooled = fresh.join(by_pool, on="entry_no", how="semi")
        if inputs_moved is not None and pooled.height:
            # a decrease valued by its pool keeps its last pool cost, and moves its pool only
            # through its valuation date, or its cost at posting when its pool was empty before
            # it (R96, R102)
            old = results.join(pooled.select("entry_no"), on="entry_no", how="semi")
            posting_moved = pooled.join(old, on="entry_no", suffix="_old").join(
                targets.select("entry_no", "valued"), on="entry_no", how="left").filter(
                (pl.col("valuation_date") != pl.col("valuation_date_old"))
                | (((pl.col("cost_at_posting") - pl.col("cost_at_posting_old")).abs() > _CENT_EPS)
                   & ~pl.col("valued").fill_null(False))).select("entry_no")
            fresh = pl.concat([fresh.join(by_pool, on="entry_no", how="anti"),
                               pooled.update(old.select("entry_no", "target"), on="entry_no")])
            triggers = pl.concat([fresh.join(by_pool, on="entry_no", how="anti")
                                  .select("entry_no"), posting_moved, inputs_moved])
        else:
            triggers = None if inputs_moved is None else pl.concat(
                [fresh.select("entry_no"), inputs_moved])
        results = pl.concat([results.join(fresh, on="entry_no", how="anti"), fresh])
        moved_revaluations = None
        # only the pools with a moved input are recomputed: of the items of the outbounds just
        # recomputed and of the inbounds and revaluations that moved last round (a whole item,
        # so that all returns of a sale are in one frame, R3)
        now = averaged if triggers is None else averaged.join(
            triggers.join(item_of, on="entry_no").select("item_no").unique(), on="item_no",
            how="semi")
        if now.height:
            # R170.15: a cost-receiving inbound follows its source's new cost at once, so that
            # a pool holding a from-leg and its to-leg sees both in the same round (a to-leg one
            # round behind makes the pool oscillate); not yet where the source is valued by a
            # pool (its cost so far is a placeholder): after the pools, below
            received = received_values(receiving.join(
                fresh.join(by_pool, on="entry_no", how="anti").select(source_entry="entry_no"),
                on="source_entry", how="semi"), fresh, settings)
            events = average.pool_events(
                now, inbound.update(received, on="inbound"), results, settings,
                accounting_periods,
                None if avg_revalued is None
                else pooled_revaluation.pool_events_of(avg_revalued, amounts))
            found, _ = average.average_costs(events, settings, targets)
            targets = found if targets is None else pl.concat(
                [targets.join(found, on="entry_no", how="anti"), found])
            moved = found.join(results.select("entry_no", old=pl.col("target")),
                               on="entry_no").filter(
                (pl.col("target") - pl.col("old")).abs() > _CENT_EPS).select("entry_no")
            results = results.update(found.drop("valued"), on="entry_no")
            fresh = results.join(
                pl.concat([fresh.select("entry_no"), moved]), on="entry_no", how="semi")
        # only inbounds whose source was just recomputed can change (all returns of a sale)
        affected = receiving.join(fresh.select(pl.col("entry_no").alias("source_entry")),
                                  on="source_entry", how="semi")
        new = received_values(affected, fresh, settings)
        changed = new.join(
            inbound.select("inbound", "at_posting", "target", "vdate"), on="inbound",
            suffix="_old",
        ).filter(
            ((pl.col("at_posting") - pl.col("at_posting_old")).abs() > _CENT_EPS)
            | ((pl.col("target") - pl.col("target_old")).abs() > _CENT_EPS)
            | (pl.col("vdate") != pl.col("vdate_old"))
        ).select("inbound", "at_posting", "target", "vdate",
                 cost_only=pl.col("vdate") == pl.col("vdate_old"))
        inbound = inbound.update(changed.drop("cost_only"), on="inbound")
        if per_pool is not None and per_pool.height and (amounts_moved or pl.concat(
                [fresh.select("entry_no"), changed.select(entry_no="inbound")]).join(
                reval_inputs, on="entry_no", how="semi").height):
            # R85, R170.15: from this round's pools and the received costs they pass on, so
            # that a cost-receiving entry's share and its revaluation see the same round (a
            # share one round behind its revaluation makes a self-feeding pool oscillate)
            read = inbound.join(reval_inputs.select(inbound="entry_no"), on="inbound",
                                how="semi")
            out_read = results.join(reval_inputs, on="entry_no", how="semi")
            new_amounts = pooled_revaluation.pool_revaluation_amounts(
                per_pool, avg_revalued, contributions,
                pl.concat([read.select(entry_no="inbound", vdate="vdate"),
                           out_read.select("entry_no", vdate="valuation_date")]),
                pl.concat([read.filter(pl.col("receiving"))
                           .select(entry_no="inbound", target="target"),
                           out_read.select("entry_no", "target")]),
                amounts, p)
            moved_revaluations = pooled_revaluation.moved_amounts(
                new_amounts, amounts, _CENT_EPS)
            amounts = amounts.update(moved_revaluations, on=["reval_tx", "inbound"])
        amounts_moved = moved_revaluations is not None and moved_revaluations.height > 0
        again = (pl.DataFrame(schema={"inbound": pl.Int64}) if moved_revaluations is None
                 else moved_revaluations.select("inbound").unique())
        if changed.height == 0 and again.height == 0:
            return Settled(results, inbound, amounts, entries.select("item_no").clear())
        hit = pl.concat([changed.select("inbound"), again]).unique()
        inputs_moved = pl.concat([
            changed.filter(~pl.col("cost_only")).select("inbound"),
            changed.filter("cost_only").join(outside_pools, on="inbound", how="anti")
            .select("inbound"),
            again,
        ]).unique().select(entry_no="inbound")
        if revalued is not None:  # R81: a received cost, an earlier per-pool revaluation
            recompute = revalued.join(hit, on="inbound", how="semi")
            if recompute.height:
                amounts_moved = True
                amounts = amounts.update(revaluation.revaluation_amounts(
                    recompute, inbound.select("inbound", "target"), p,
                    amounts.join(per_pool, on=["reval_tx", "inbound"], how="semi")),
                    on=["reval_tx", "inbound"])
        todo = pl.concat([
            outbounds.join(applications.join(hit, on="inbound", how="semi")
                           .select(pl.col("outbound").alias("entry_no")), on="entry_no",
                           how="semi"),
            outbounds.join(hit.rename({"inbound": "u0_entry"}), on="u0_entry", how="semi"),
        ]).unique("entry_no", maintain_order=True)
    # R60: what still moves in the last round did not settle; its revaluations are computed
    # from the posting amounts, and cost adjustment leaves its items alone (costing.cost_ledger)
    unsettled = unsettled_items(entries, hit)
    if amounts is not None:
        at_posting = posting_amounts(revalued, per_pool, avg_revalued, contributions, inbound,
                                     results, p)
        item_of_inbound = entries.select(inbound="entry_no", item_no="item_no")
        amounts = amounts.update(
            at_posting.join(item_of_inbound, on="inbound").join(unsettled, on="item_no",
                                                                 how="semi").drop("item_no"),
            on=["reval_tx", "inbound"])
    return Settled(results, inbound, amounts, unsettled)


def rounding_amounts(
    inbound: pl.DataFrame, applications: pl.DataFrame, settings: Settings,
    amounts: pl.DataFrame | None = None, reval_links: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """R76: closed, completely invoiced inbound entries of non-AVERAGE items get
    Σ share − (base + Σ revaluation amounts). Columns: entry_no, amount.
    """
    p = settings.amount_rounding_precision
    base = pl.col("source_base") + pl.col("target")
    forwarded = (
        applications.join(inbound, on="inbound")
        .group_by("inbound")
        .agg(
            applied=pl.col("units").sum(),
            shares=round_to(pl.col("units") / QTY_SCALE * base / pl.col("q_in"), p).sum(),
        )
    )
    if amounts is not None and amounts.height:
        reval = pl.concat([
            amounts.group_by("inbound").agg(reval=-pl.col("amount").sum()),
            reval_links.filter(pl.col("affects")).join(amounts, on=["reval_tx", "inbound"])
            .group_by("inbound").agg(reval=round_to(
                pl.col("units") * pl.col("amount") / pl.col("r_units"), p).sum()),
        ]).group_by("inbound").agg(pl.col("reval").sum())
        forwarded = forwarded.join(reval, on="inbound", how="left").with_columns(
            shares=pl.col("shares") + pl.col("reval").fill_null(0.0)).drop("reval")
    return (
        inbound.join(forwarded, on="inbound")
        .filter((pl.col("applied") == pl.col("q_units"))
                & ((pl.col("invoiced") - pl.col("q_in")).abs() < 0.5 / QTY_SCALE)
                & (pl.col("costing_method") != "AVERAGE"))  # the pool keeps residuals (R102)
        .select(pl.col("inbound").alias("entry_no"),
                amount=round_to(pl.col("shares") - base, p))
        .filter(pl.col("amount") != 0)
    )
