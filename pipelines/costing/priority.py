"""R41, R44 by posting date: back-dated entries applied in BC's order, not in entry order.

BC takes the open inbound entries by (posting date, entry number) (R41) and closes the open
outbound entries in that order too (R44); the interval overlap of `application.py` takes both in
entry order. They differ only after an entry is posted with an earlier date than an earlier-posted
one of its key and side. A key's stock is either on hand (open inbounds) or short (open
outbounds), never both, and whenever it crosses zero everything open is taken: so the entry-order
applications fall into two one-sided problems, the same problem with the roles swapped. On hand,
the open inbounds are the supply and the outbounds that take them (outbound after inbound) the
demand; short, the open outbounds are the supply and the inbounds that close them (inbound after
outbound) the demand; an entry never open on a side (an inbound that only closed open outbounds,
an outbound that only took stock on hand) takes no part in it. Each side: sort the supply by
(posting date, entry number) and cut after every rank where the entries so far are exactly the
first ones in entry order. A block between two cuts is a run of consecutive supply entries, so
every demand entry takes from the block as a whole exactly what the entry-order overlap gives
it; only which of the block's entries gives it changes. Inside a block, taking the open entries
by priority at each demand entry is first-fit parking in priority order: each supply entry takes
the first free units of the block's demand posted after it. The loop runs over the ranks within
a block (the size of the largest block), all blocks of both sides at once.
"""

from __future__ import annotations

import polars as pl

from pipelines.costing.overlap import overlap
from pipelines.errors import NotSupportedYet, Problem

MAX_BLOCK = 256  # open entries of one side whose order a back-dating changes at once


def reorderable_keys(flow: pl.DataFrame) -> pl.DataFrame:
    """Keys (key_id) with a back-dated entry that this module applies by posting date."""
    return _plan(flow)[0]


def _plan(flow: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(keys, block members of both sides). A key is reordered when it is not LIFO, has no
    pass-over (R44a) and no sales return on hand while it is short (R45: both sides open at
    once), and no inbound entry with units reserved by fixed applications (R43) lies in a block
    (outside the blocks each outbound takes what it takes in entry order, so the fixed capacity
    check of `application.py` holds as it is), unless no outbound of the key is applied
    automatically (then the order takes nothing)."""
    back = _back_dated(flow)
    if back.height == 0:
        return back.select("key_id"), pl.DataFrame()
    passes = pl.col("passes") if "passes" in flow.columns else pl.lit(False)
    return_on_hand = ((pl.col("type") == "sales_return") & pl.col("receiving")
                      & (pl.col("before") < 0))
    keys = (
        flow.join(back.select("key_id").unique(), on="key_id", how="semi")
        .group_by("key_id")
        .agg(ok=~pl.col("lifo").any() & ~passes.any() & ~return_on_hand.any(),
             no_demand=pl.col("inbound").all())
        .filter("ok")
    )
    sides = back.select("key_id", "inbound").unique()  # a side without one keeps entry order
    ranked = flow.join(keys, on="key_id", how="semi").join(
        sides, on=["key_id", "inbound"], how="semi").select(
        "key_id", "entry_no", "posting_date", "transaction_no", "inbound", a=_supply(),
        reserved=pl.col("inbound") & (pl.col("cap") < pl.col("units")))
    # an entry never open on its side takes no part, unless fixed applications reserve it (the
    # capacity check reasons in entry order, so where a reserved entry lands in the order counts)
    ranked = ranked.filter((pl.col("a") > 0) | pl.col("reserved")).with_columns(
        pos=pl.int_range(pl.len()).over("key_id", "inbound"),  # flow is in entry order per key
    ).sort("key_id", "inbound", "posting_date", "entry_no").with_columns(
        rank=pl.int_range(pl.len()).over("key_id", "inbound"))
    # a cut after `rank` is clean when the entries up to it are the first rank+1 in entry order
    ranked = ranked.with_columns(
        clean=pl.col("pos").cum_max().over("key_id", "inbound") == pl.col("rank"))
    ranked = ranked.with_columns(block=(
        (pl.col("rank") == 0) | pl.col("clean").shift(1).fill_null(True)).cum_sum())
    members = ranked.with_columns(size=pl.len().over("block"),
                                  r=pl.int_range(pl.len()).over("block")).filter(
        pl.col("size") > 1)
    reserved = members.filter("reserved").select("key_id").unique()
    keys = pl.concat([keys.join(reserved, on="key_id", how="anti"),
                      keys.filter("no_demand")]).select("key_id").unique().sort("key_id")
    return keys, members.join(keys, on="key_id", how="semi")


def _supply() -> pl.Expr:
    """What an entry leaves open on its side, from the key's balance `before` it: an inbound
    first closes the open outbounds (-before, R44), an outbound first takes what is on hand."""
    before, delta, units = pl.col("before"), pl.col("delta"), pl.col("units")
    return (pl.when(pl.col("inbound")).then(delta - (-before).clip(0, None).clip(None, delta))
            .otherwise(units - before.clip(0, None).clip(None, units)))


def _back_dated(flow: pl.DataFrame) -> pl.DataFrame:
    """The entries dated before an earlier-posted entry of their key and side. `flow` is sorted
    by (key_id, entry_no): per side, one running maximum of (key, date) over the whole frame
    (a key's stamps exceed every earlier key's) stands for the per-key one, without a window."""
    stamp = pl.col("key_id") * (1 << 24) + pl.col("posting_date").cast(pl.Int64)
    return pl.concat([flow.filter(pl.col("inbound") == side).filter(
        stamp < stamp.cum_max().shift(1)) for side in (True, False)])


def by_posting_date(flow: pl.DataFrame,
                    applications: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`applications` (inbound, outbound, units, in entry order) with those of the reordered
    blocks taken by (posting date, entry number): on hand the inbound entries' order, short the
    outbound entries'; and the reordered keys (key_id)."""
    keys, members = _plan(flow)
    if members.height == 0:
        return applications, keys
    too_big = members.filter((pl.col("size") > MAX_BLOCK) & (pl.col("r") == 0))
    if too_big.height:  # named by each block's earliest-dated entry
        raise NotSupportedYet([
            Problem("transactions", f"transaction_no={row['transaction_no']}", "posting_date",
                    str(row["posting_date"]),
                    f"not supported yet: back-dating that reorders more than {MAX_BLOCK} "
                    "entries of one item, location and variant at once (R41, R44 "
                    "application by posting date)")
            for row in too_big.sort("transaction_no").head(20).iter_rows(named=True)])
    on_hand = pl.col("inbound") < pl.col("outbound")  # the outbound took an open inbound
    supplied = pl.concat([  # each side as (supply, demand, units), by priority in the blocks
        _side(members.filter("inbound"), applications.filter(on_hand).select(
            supply="inbound", demand="outbound", units="units")
        ).select(inbound="supply", outbound="demand", units="units"),
        _side(members.filter(~pl.col("inbound")), applications.filter(~on_hand).select(
            supply="outbound", demand="inbound", units="units")
        ).select(inbound="demand", outbound="supply", units="units"),
    ])
    return supplied.select(applications.columns), keys


def _side(members: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """One side's applications (supply, demand, units): outside the blocks as they are, inside
    by priority."""
    in_block = members.select(supply="entry_no", block="block")
    return pl.concat([pairs.join(in_block, on="supply", how="anti"),
                      _reorder(members, pairs.join(in_block, on="supply"))])


def _reorder(members: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """The applications (supply, demand, units) of one side's blocks by priority. `members`
    (block, r, entry_no, a): the blocks' supply entries by rank; `pairs` their entry-order
    applications with `block`."""
    schema = {"supply": pl.Int64, "demand": pl.Int64, "units": pl.Int64}
    if members.height == 0 or pairs.height == 0:
        return pl.DataFrame(schema=schema)
    # what each demand entry takes from the block as a whole, in entry order: the block's demand
    demand = (pairs.group_by("block", "demand").agg(pl.col("units").sum())
              .sort("block", "demand")
              .with_columns(end=pl.col("units").cum_sum().over("block")))
    # an entry may take only the demand of entries posted after it
    cars = members.sort("block", "entry_no").join_asof(
        demand.select("block", "demand", "end"), left_on="entry_no", right_on="demand",
        by="block", strategy="backward", check_sortedness=False,
    ).select("block", "r", "a", supply="entry_no", p=pl.col("end").fill_null(0))
    parked = _park(cars, demand.group_by("block").agg(v=pl.col("units").sum()))
    taken = parked.group_by("block").agg(pl.col("units").sum()).join(
        demand.group_by("block").agg(need=pl.col("units").sum()), on="block", how="full",
        coalesce=True)
    if taken.filter(pl.col("units").fill_null(0) != pl.col("need").fill_null(0)).height:
        raise RuntimeError("R41: a block's demand was not taken whole by its entries")
    return overlap(
        parked.sort("block", "x0").select(key_id="block", entry_no="supply", cap="units"),
        demand.select(key_id="block", entry_no="demand", units="units"),
    ).select(supply="inbound", demand="outbound", units="units")


def _park(cars: pl.DataFrame, free: pl.DataFrame) -> pl.DataFrame:
    """First-fit by rank: car (block, r, supply, a, p) takes the first `a` free units at or
    after `p` of its block's demand axis. `free`: (block, v), the axis [0, v) per block. Returns
    the pieces (block, supply, x0, units)."""
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
        pieces.append(cand.select("block", "supply", x0="s", units="taken"))
        free = pl.concat([
            free.join(cand.select("block", "u"), on=["block", "u"], how="anti"),
            cand.select("block", "u", v="s"),
            cand.select("block", u=pl.col("s") + pl.col("taken"), v="v"),
        ]).filter(pl.col("v") > pl.col("u"))
    return pl.concat(pieces)
