"""Cost at posting and Adjust Cost along quantity applications (R50-R53, R60-R63, R70-R76, R92).

Costs flow along applications only (R75): an outbound's target is minus the shares it received from
the inbound entries applied to it (R71, R72); a transfer's to-leg receives its from-leg's cost (R73)
and a sales return with applies_to its sale's (R74). Chains (purchase -> transfer -> sale -> return)
are a fixed point (R60), found by `settle.py`: these are the steps its rounds repeat.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.costing.by_entry import aligned, at_entry_no, rows_of, sums_per_entry
from pipelines.costing.ledger import COST_DECIMALS, QTY_SCALE, units_of
from pipelines.frames import where
from pipelines.rounding import round_to, with_cumulative_split, with_share
from pipelines.settings import Settings

RESULT_SCHEMA = {"entry_no": pl.Int64, "cost_at_posting": pl.Float64, "target": pl.Float64,
                 "valuation_date": pl.Date}


def inbound_table(entries: pl.DataFrame, source_values: pl.DataFrame) -> pl.DataFrame:
    """R70: per inbound entry its quantity, date, and the value of its own cost entries."""
    sums = source_values.lazy().group_by(pl.col("item_ledger_entry_no").alias("inbound")).agg(
        source_base=(pl.col("cost_amount_actual") + pl.col("cost_amount_expected")).sum(),
        invoiced=pl.col("invoiced_quantity").sum(),
        last_tx=pl.col("transaction_no").max(),
    ).collect()
    return (
        where(entries, pl.col("inbound"), pl.col("entry_no").alias("inbound"),
              pl.col("quantity").alias("q_in"), pl.col("units").alias("q_units"),
              pl.col("posting_date").alias("vdate"), pl.col("transaction_no").alias("in_tx"),
              "receiving", "costing_method")
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


class NotYet:
    """R50: per inbound with late entries (invoices, charges posted after it), the value of its
    entries posted after a given transaction. Built once: the entries sorted by (inbound,
    transaction) under one integer key, each row holding the value of its own and the later
    transactions; an ask is a binary search for the first transaction after it."""

    def __init__(self, source_values: pl.DataFrame, inbound: pl.DataFrame) -> None:
        later = (
            source_values.lazy()
            .join(inbound.lazy().filter("late").select(item_ledger_entry_no="inbound"),
                  on="item_ledger_entry_no", how="semi")
            .group_by(inbound="item_ledger_entry_no", tx="transaction_no")
            .agg(value=(pl.col("cost_amount_actual") + pl.col("cost_amount_expected")).sum())
            .sort("inbound", "tx")
            .with_columns(pl.col("value").cum_sum(reverse=True).over("inbound"))
            .collect()
        )
        self._entry = later.get_column("inbound").to_numpy()
        self._keys = _key(self._entry, later.get_column("tx").to_numpy())
        self._value = np.append(later.get_column("value").to_numpy(), 0.0)

    def after(self, inbound: np.ndarray, tx: np.ndarray) -> np.ndarray:
        """Per (inbound, tx): the value of the inbound's entries posted after transaction tx."""
        n = len(self._entry)
        if n == 0:
            return np.zeros(len(inbound))
        inbound = inbound.astype(np.int64)
        at = np.searchsorted(self._keys, _key(inbound, tx), side="right")
        mine = self._entry[np.minimum(at, n - 1)] == inbound
        return self._value[np.where(mine, at, n)]  # past the inbound's last: nothing later


def _key(inbound: np.ndarray, tx: np.ndarray) -> np.ndarray:
    """(inbound, transaction) as one integer that sorts the same way."""
    return (inbound.astype(np.int64) << 32) | tx.astype(np.int64)


def _with_known(asks: pl.DataFrame, inbound: pl.DataFrame, not_yet: NotYet) -> pl.DataFrame:
    """R50: adds `known`, the inbound's value from entries created before the asking transaction.

    `asks` has columns inbound, ask_tx. known = the source entries' value plus the received
    cost at posting (not the target: it is not known yet) - the entries posted after the asking
    transaction. Not `base - (target - at_posting)`: a target that grows round after round (a
    pool feeding itself, R60) would cancel the cost at posting away in floating point.
    """
    asks = asks.hstack(aligned(
        inbound.select("inbound", "q_in", "q_units", "vdate", "late",
                       base=pl.col("source_base") + pl.col("target"),
                       posted=pl.col("source_base") + pl.col("at_posting")),
        "inbound", asks.get_column("inbound"),
    ))
    # the few asks of an inbound with late entries get `not_yet` by position
    late = np.flatnonzero(asks.get_column("late").fill_null(False).to_numpy())
    values = np.zeros(asks.height)
    if len(late):
        values[late] = not_yet.after(asks.get_column("inbound").fill_null(0).to_numpy()[late],
                                     asks.get_column("ask_tx").fill_null(0).to_numpy()[late])
    return asks.with_columns(known=pl.col("posted") - pl.Series(values)).drop("posted")


def outbound_table(entries: pl.DataFrame) -> pl.DataFrame:
    """Outbound entries with u0's entry (R51): the key's last inbound entry posted before it."""
    u0_entry = pl.when(pl.col("inbound")).then(pl.col("entry_no")).forward_fill().over("key_id")
    return where(
        entries, ~pl.col("inbound"), "entry_no", u0_entry.alias("u0_entry"), "units",
        "posting_date", pl.col("transaction_no").alias("ask_tx"),
        # R170.7: a STANDARD item's unapplied quantity is valued at the standard cost
        standard=pl.when(pl.col("costing_method") == "STANDARD").then(pl.col("standard_cost")),
    )


def outbound_costs(
    outbounds: pl.DataFrame,
    inbound: pl.DataFrame,
    applications: pl.DataFrame,
    not_yet: NotYet,
    settings: Settings,
    revalued: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per outbound entry: cost at posting C (R51), target T (R72), valuation date (R92).

    `applications` are those of `outbounds`, `inbound` holds (at least) the inbounds they and
    the outbounds' u0 entries name. `revalued` (entry_no, reval_shares, reval_date): what
    revaluations add to the shares (R71, R83) and the dates they add to the valuation date (R92)."""
    p = settings.amount_rounding_precision
    apps = _with_known(
        applications.hstack(aligned(outbounds.select("entry_no", "ask_tx"), "entry_no",
                                    applications.get_column("outbound"))),
        inbound, not_yet,
    )
    out = _with_known(outbounds.rename({"u0_entry": "inbound"}), inbound, not_yet)
    out = out.hstack(_applied(apps, out.get_column("entry_no"), p))
    if revalued is not None and revalued.height:
        out = out.hstack(aligned(revalued, "entry_no", out.get_column("entry_no"))).with_columns(
            shares=pl.col("shares") + pl.col("reval_shares").fill_null(0.0),
            in_date=pl.max_horizontal("in_date", "reval_date"))
    # R51: the unapplied part at u0, the standard cost or the u0 entry's known value per unit
    # (an amount: rounded, the float dust of its sum is not read as decimals of a unit cost)
    standard = pl.col("standard").is_not_null()
    u0_amount = pl.when(standard).then("standard").when(pl.col("q_in") > 0).then(
        round_to(pl.col("known"), p))
    u0_whole = pl.when(standard).then(QTY_SCALE).when(pl.col("q_in") > 0).then("q_units")
    out = with_share(out, "unapplied_at_posting", u0_amount.otherwise(0.0),
                     pl.col("units") - pl.col("applied_at_posting"), u0_whole.otherwise(1), p,
                     amount_decimals=COST_DECIMALS)
    out = with_share(out, "unapplied", u0_amount.otherwise(0.0),
                     pl.col("units") - pl.col("applied"), u0_whole.otherwise(1), p,
                     amount_decimals=COST_DECIMALS)
    return out.select(
        "entry_no",
        (pl.col("posted") + pl.col("unapplied_at_posting")).alias("cost_at_posting"),
        (-pl.col("shares") - pl.col("unapplied")).alias("target"),
        pl.max_horizontal("posting_date", "in_date").alias("valuation_date"),
    )


def _applied(apps: pl.DataFrame, entry_no: pl.Series, p: float) -> pl.DataFrame:
    """Per outbound of `entry_no`, row for row: the units applied to it (all, and at its
    posting), the shares (R71) and costs at posting of its applications, and its inbounds'
    latest valuation date (null without applications). Sums by row (bincount), not a group-by
    over millions of outbounds that mostly have one application each."""
    at = rows_of(entry_no, apps.get_column("outbound"))
    posting = pl.col("at_posting")
    apps = with_share(apps, "share", pl.col("base"), pl.col("units"), pl.col("q_units"), p)
    apps = with_share(apps, "posted", pl.col("known"), pl.col("units"), pl.col("q_units"), p)
    sums = sums_per_entry(pl.Series(at + 1), apps.select(
        applied=pl.col("units").cast(pl.Float64),  # integers below 2^53: summed exactly
        applied_at_posting=pl.when(posting).then("units").otherwise(0).cast(pl.Float64),
        shares="share",  # R71
        posted=pl.when(posting).then("posted").otherwise(0.0),
    ), len(entry_no))
    none = np.iinfo(np.int32).min
    in_date = np.full(len(entry_no), none, dtype=np.int32)
    np.maximum.at(in_date, at, apps.get_column("vdate").to_physical().fill_null(none).to_numpy())
    return sums.with_columns(
        pl.col("applied", "applied_at_posting").cast(pl.Int64),
        in_date=pl.Series(in_date).replace(none, None).cast(pl.Date))


def received_values(
    receiving: pl.DataFrame, results: pl.DataFrame, settings: Settings
) -> pl.DataFrame:
    """R52, R73, R74: what cost-receiving inbounds get from their source outbound.

    A to-leg: +C at posting, -T(from-leg) as target, the from-leg's valuation date. Returns of a
    sale: round(C_s·q_r/|q_s|) at posting, the cumulative split of -T(s) as targets.
    """
    p = settings.amount_rounding_precision
    src = receiving.hstack(aligned(  # by position: `results` may be millions of outbounds
        results.select("entry_no", "cost_at_posting", "target", source_vdate="valuation_date"),
        "entry_no", receiving.get_column("source_entry"),
    )).sort("source_entry", "inbound")
    transfer = pl.col("type") == "transfer"
    q_units, source_units = units_of(pl.col("q_in")), units_of(pl.col("source_q"))
    src = with_share(src, "return_at_posting", pl.col("cost_at_posting"), q_units, source_units,
                     p)
    src = with_cumulative_split(src, "return_target", -pl.col("target"), q_units, source_units,
                                p, over="source_entry")
    return src.select(
        "inbound",
        at_posting=pl.when(transfer).then("cost_at_posting").otherwise("return_at_posting"),
        target=pl.when(transfer).then(-pl.col("target")).otherwise("return_target"),
        vdate=pl.when(transfer).then(pl.col("source_vdate")).otherwise(pl.col("posting_date")),
    )


def rounding_amounts(
    inbound: pl.DataFrame, applications: pl.DataFrame, settings: Settings,
    amounts: pl.DataFrame | None = None, reval_links: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """R76: closed, completely invoiced inbound entries of non-AVERAGE items get
    Σ share − (base + Σ revaluation amounts). Columns: entry_no, amount.
    """
    p = settings.amount_rounding_precision
    base = pl.col("source_base") + pl.col("target")
    # per inbound entry by its (dense) number: gathers and sums by position, not hash joins
    # and a group-by over millions of applications
    n = max(frame.get_column("inbound").max() or 0
            for frame in (inbound, applications, *([] if amounts is None else [amounts])))
    of_inbound = pl.DataFrame([at_entry_no(inbound.get_column("inbound"), values, n)
                               for values in inbound.select("q_units", base=base)])
    applied = with_share(
        applications.select("inbound", "units").with_columns(
            of_inbound[applications.get_column("inbound") - 1]).filter(
            pl.col("q_units").is_not_null()),
        "share", pl.col("base"), pl.col("units"), pl.col("q_units"), p)
    # units summed as floats: exact below 2^53 millionths of a unit
    forwarded = sums_per_entry(applied.get_column("inbound"), applied.select(
        applied=pl.col("units").cast(pl.Float64), shares="share"), n)
    if amounts is not None and amounts.height:
        reval = pl.concat([
            amounts.select("inbound", reval=-pl.col("amount")),
            with_share(reval_links.filter(pl.col("affects")).join(
                amounts, on=["reval_tx", "inbound"]), "share", pl.col("amount"),
                pl.col("units"), pl.col("r_units"), p).select("inbound", reval="share"),
        ])
        forwarded = forwarded.with_columns(pl.col("shares") + sums_per_entry(
            reval.get_column("inbound"), reval.select("reval"), n).get_column("reval"))
    return (
        inbound.with_columns(forwarded[inbound.get_column("inbound") - 1])
        .filter((pl.col("applied") == pl.col("q_units"))
                & ((pl.col("invoiced") - pl.col("q_in")).abs() < 0.5 / QTY_SCALE)
                & (pl.col("costing_method") != "AVERAGE"))  # the pool keeps residuals (R102)
        .select(pl.col("inbound").alias("entry_no"),
                amount=round_to(pl.col("shares") - base, p))
        .filter(pl.col("amount") != 0)
    )
