"""R41 by posting date: back-dated inbound entries on keys whose stock never goes negative.

BC takes the open inbound entries by (posting date, entry number); the interval overlap of
`application.py` takes them in entry order. The two differ only after an inbound entry is posted
with an earlier date than an earlier-posted one. On a key that is never negative (so no outbound
is ever open) the difference stays inside blocks: with the inbound entries sorted by (posting
date, entry number), cut after every rank where the entries so far are exactly the first ones in
entry order. A block between two cuts is a run of consecutive inbounds in entry order, so every
outbound takes from the block as a whole exactly what the entry-order overlap gives it; only
which of the block's entries gives it changes. Inside a block, taking the open entries by
priority at each outbound is first-fit parking in priority order: each entry, by (posting date,
entry number), takes the first free units of the block's demand posted after it. The loop runs
over the ranks within a block (the size of the largest block), all blocks at once.
"""

from __future__ import annotations

import polars as pl

from pipelines.costing.overlap import overlap
from pipelines.errors import NotSupportedYet, Problem

MAX_BLOCK = 256  # inbound entries whose order a back-dating changes at once


def reorderable_keys(flow: pl.DataFrame) -> pl.DataFrame:
    """Keys (key_id) with a back-dated inbound entry that this module applies by posting date."""
    return _plan(flow)[0]


def _plan(flow: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(keys, block members). A key is reordered when it is never negative, not LIFO, has no
    pass-over, and no inbound entry with units reserved by fixed applications (R43) lies in a
    block (outside the blocks each outbound takes what it takes in entry order, so the fixed
    capacity check of `application.py` holds as it is), unless no outbound of the key is applied
    automatically (then the order takes nothing)."""
    inbound = flow.filter(pl.col("inbound"))
    date = pl.col("posting_date")
    back = inbound.filter(date < date.cum_max().shift(1).over("key_id").fill_null(date))
    if back.height == 0:
        return back.select("key_id"), pl.DataFrame()
    passes = pl.col("passes") if "passes" in flow.columns else pl.lit(False)
    keys = (
        flow.join(back.select("key_id").unique(), on="key_id", how="semi")
        .group_by("key_id")
        .agg(ok=~pl.col("lifo").any() & ~passes.any()
             & ((pl.col("before") + pl.col("delta")).min() >= 0),
             no_demand=pl.col("inbound").all())
        .filter("ok")
    )
    ranked = inbound.join(keys, on="key_id", how="semi").select(
        "key_id", "entry_no", "posting_date", "transaction_no", a="delta",
        reserved=pl.col("cap") < pl.col("units"),
        pos=pl.int_range(pl.len()).over("key_id"),  # flow is in entry order per key
    ).sort("key_id", "posting_date", "entry_no").with_columns(
        rank=pl.int_range(pl.len()).over("key_id"))
    # a cut after `rank` is clean when the entries up to it are the first rank+1 in entry order
    ranked = ranked.with_columns(clean=pl.col("pos").cum_max().over("key_id") == pl.col("rank"))
    ranked = ranked.with_columns(block=(
        (pl.col("rank") == 0) | pl.col("clean").shift(1).fill_null(True)).cum_sum())
    members = ranked.with_columns(size=pl.len().over("block"),
                                  r=pl.int_range(pl.len()).over("block")).filter(
        pl.col("size") > 1)
    reserved = members.filter("reserved").select("key_id").unique()
    keys = pl.concat([keys.join(reserved, on="key_id", how="anti"),
                      keys.filter("no_demand")]).select("key_id").unique().sort("key_id")
    return keys, members.join(keys, on="key_id", how="semi")


def by_posting_date(flow: pl.DataFrame, applications: pl.DataFrame) -> pl.DataFrame:
    """`applications` (inbound, outbound, units) with those of the reordered blocks' inbound
    entries taken by (posting date, entry number) instead of entry order."""
    keys, members = _plan(flow)
    if members.height == 0:
        return applications
    too_big = members.filter((pl.col("size") > MAX_BLOCK) & (pl.col("r") == 0))
    if too_big.height:  # named by each block's earliest-dated receipt
        raise NotSupportedYet([
            Problem("transactions", f"transaction_no={row['transaction_no']}", "posting_date",
                    str(row["posting_date"]),
                    f"not supported yet: back-dating that reorders more than {MAX_BLOCK} "
                    "inbound entries of one item, location and variant at once (R41 "
                    "application by posting date)")
            for row in too_big.sort("transaction_no").head(20).iter_rows(named=True)])
    in_block = members.select(inbound="entry_no", block="block")
    # what each outbound takes from the block as a whole, in entry order: the block's demand
    demand = (applications.join(in_block, on="inbound")
              .group_by("block", "outbound").agg(pl.col("units").sum())
              .sort("block", "outbound")
              .with_columns(end=pl.col("units").cum_sum().over("block")))
    # an entry may take only the demand of outbounds posted after it
    cars = members.sort("block", "entry_no").join_asof(
        demand.select("block", "outbound", "end"), left_on="entry_no", right_on="outbound",
        by="block", strategy="backward", check_sortedness=False,
    ).select("block", "r", "a", inbound="entry_no", p=pl.col("end").fill_null(0))
    parked = _park(cars, demand.group_by("block").agg(v=pl.col("units").sum()))
    taken = parked.group_by("block").agg(pl.col("units").sum()).join(
        demand.group_by("block").agg(need=pl.col("units").sum()), on="block", how="full",
        coalesce=True)
    if taken.filter(pl.col("units").fill_null(0) != pl.col("need").fill_null(0)).height:
        raise RuntimeError("R41: a block's demand was not taken whole by its entries")
    reordered = overlap(
        parked.sort("block", "x0").select(key_id="block", entry_no="inbound", cap="units"),
        demand.select(key_id="block", entry_no="outbound", units="units"))
    return pl.concat([applications.join(in_block, on="inbound", how="anti"),
                      reordered.select(applications.columns)])


def _park(cars: pl.DataFrame, free: pl.DataFrame) -> pl.DataFrame:
    """First-fit by rank: car (block, r, inbound, a, p) takes the first `a` free units at or
    after `p` of its block's demand axis. `free`: (block, v), the axis [0, v) per block. Returns
    the pieces (block, inbound, x0, units)."""
    free = free.select("block", u=pl.lit(0, pl.Int64), v="v").filter(pl.col("v") > 0)
    pieces = []
    for r in range(int(cars.get_column("r").max()) + 1):
        cand = (
            free.join(cars.filter(pl.col("r") == r), on="block")
            .sort("block", "u")
            .with_columns(s=pl.max_horizontal("u", "p"))
            .with_columns(length=(pl.col("v") - pl.col("s")).clip(lower_bound=0))
            .with_columns(taken=pl.min_horizontal(
                "length",
                (pl.col("a") - pl.col("length").cum_sum().over("block") + pl.col("length"))
                .clip(lower_bound=0)))
            .filter(pl.col("taken") > 0)
        )
        pieces.append(cand.select("block", "inbound", x0="s", units="taken"))
        free = pl.concat([
            free.join(cand.select("block", "u"), on=["block", "u"], how="anti"),
            cand.select("block", "u", v="s"),
            cand.select("block", u=pl.col("s") + pl.col("taken"), v="v"),
        ]).filter(pl.col("v") > pl.col("u"))
    return pl.concat(pieces)
