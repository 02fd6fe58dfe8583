"""R42, R44 by posting date on LIFO keys: back-dated entries taken by (posting date, entry no).

BC takes the latest-dated open inbound first (R42) and closes the latest-dated open outbound
first (R44); `lifo.py` stacks both in entry order, which is BC's order until an entry is posted
with an earlier date than an open entry of its side. How much of each move goes to which stack
does not depend on the order (`lifo.lifo_stream`: an outbound takes what is on hand, P, and
leaves the rest open, N; an inbound closes N and puts the rest on hand), so each stack is a
one-sided problem: its supply (the pushes: inbounds onto P, outbounds onto N) and its demand (the
pops: outbounds off P, inbounds closing N). Taking the highest-priority open supply at every
demand is first-fit parking in priority order: each supply entry, from the highest priority
down, takes the first free units of the demand posted after it (the highest one is taken by the
first demand after it, whatever else is open; remove both and repeat). Supply entries whose
entry numbers fall with their rank form a run; in a run a later-posted entry parks first, so the
run is a stack laid over the free demand (`_park_stack_run`). The loop is over the runs of a
side (about one per back-dated entry on it, at most `priority.MAX_RUNS`), all sides at once.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.costing.lifo import Nearest, _segment_cum_max, _segment_cum_sum, lifo_stream
from pipelines.costing.overlap import overlap
from pipelines.costing.priority import (
    _without,
    back_dated,
    free_axis,
    pieces_in_free,
    too_many_runs,
)

_PAIRS = {"inbound": pl.Int64, "outbound": pl.Int64, "units": pl.Int64}


def lifo_by_posting_date(flow: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The automatic applications (inbound, outbound, units) of the LIFO keys of `flow` with
    back-dated entries, in BC's order, and those keys (key_id). Keys where both stacks are ever
    non-empty at once (R45, R44a) or with units reserved by fixed applications (R43) are left to
    entry order (and to its checks)."""
    back = back_dated(flow)
    none = pl.DataFrame(schema=_PAIRS), pl.DataFrame(schema={"key_id": flow.schema["key_id"]})
    if back.height == 0:
        return none
    stream, p, n = lifo_stream(flow.join(back.select("key_id").unique(), on="key_id",
                                         how="semi"))
    before = stream.get_column("pos").to_numpy() - 1
    stream = stream.with_columns(
        dp=pl.col("on_hand") - pl.Series(p[before]), dn=pl.col("open") - pl.Series(n[before]))
    keys = (stream.lazy().group_by("key_id")
            .agg(ok=~((pl.col("on_hand") > 0) & (pl.col("open") > 0)).any()
                 & ~(pl.col("inbound") & (pl.col("cap") < pl.col("units"))).any())
            .filter("ok").select("key_id").sort("key_id").collect())
    stream = stream.join(keys, on="key_id", how="semi")
    if stream.height == 0:
        return none
    # block: one stack of one key; supply `a` pushed onto it, demand `d` popped off it
    sides = pl.concat([
        stream.select("entry_no", "posting_date", "transaction_no",
                      block=pl.col("key_id") * 2 + side, a=pl.col(move).clip(0),
                      d=(-pl.col(move)).clip(0))
        for side, move in enumerate(("dp", "dn"))
    ]).sort("block", "entry_no")
    demand = sides.filter(pl.col("d") > 0).select(
        "block", "entry_no", "d", end=pl.col("d").cum_sum().over("block"))
    cars = sides.filter(pl.col("a") > 0).join_asof(
        demand.select("block", "entry_no", "end"), on="entry_no", by="block",
        strategy="backward", allow_exact_matches=False, check_sortedness=False,
    ).select("block", "entry_no", "posting_date", "transaction_no", "a",
             p=pl.col("end").fill_null(0))
    # rank by priority: latest date first, then latest entry; a new run where numbers rise
    cars = cars.sort("block", "posting_date", "entry_no",
                     descending=[False, True, True]).with_columns(
        r=pl.int_range(pl.len()).over("block"),
        run=(pl.col("entry_no") > pl.col("entry_no").shift(1).over("block"))
        .fill_null(False).cum_sum().over("block"))
    if cars.height == 0 or demand.height == 0:
        return none[0], keys
    too_many_runs(cars)
    parked = _park(cars, demand.group_by("block").agg(v=pl.col("d").sum()))
    pairs = []
    for side, (supply, taker) in enumerate((("inbound", "outbound"), ("outbound", "inbound"))):
        on_side = pl.col("block") % 2 == side  # P: inbounds supply; N: outbounds supply
        pairs.append(overlap(
            parked.filter(on_side).sort("block", "x0").select(
                key_id="block", entry_no="supply", cap="units"),
            demand.filter(on_side).select(key_id="block", entry_no="entry_no", units="d"),
        ).select(**{supply: "inbound", taker: "outbound"}, units="units"))
    pairs = pl.concat([pair.select(list(_PAIRS)) for pair in pairs])
    if pairs.get_column("units").sum() != demand.get_column("d").sum():
        raise RuntimeError("R42: a stack's demand was not taken whole by its supply")
    return pairs, keys


def _park(cars: pl.DataFrame, free: pl.DataFrame) -> pl.DataFrame:
    """Every run in turn, all blocks at once: the pieces (block, supply, interval, x0, units)."""
    free = free.select("block", u=pl.lit(0, pl.Int64), v="v").filter(pl.col("v") > 0)
    pieces = []
    for run in range(int(cars.get_column("run").max()) + 1):
        parked = _park_stack_run(cars.filter(pl.col("run") == run), free)
        pieces.append(parked)
        free = _without(free, parked)
    return pl.concat(pieces)


def _park_stack_run(cars: pl.DataFrame, free: pl.DataFrame) -> pl.DataFrame:
    """One run per block (entry numbers falling with rank) parked as a stack on the free demand:
    along the free axis each car pushes its units at `q`, the first free unit after the demand
    posted before it, and every free unit pops the top. The height after each push and each gap
    of free units between two pushes is a running balance reflected at 0; a unit at height y is
    pushed by the car after the previous position below y and popped in the gap at the next
    position below it (`lifo._stack_applications`), at the gap's offset from its top."""
    free = free_axis(free)
    base = free.group_by("block").agg(b0=pl.col("g0").min(),
                                      b1=pl.col("g0").max() + pl.col("length").last())
    cars = cars.sort("block", "p").join_asof(
        free.select("block", "u", "v", "g0"), left_on="p", right_on="u", by="block",
        strategy="backward", check_sortedness=False).join(base, on="block")
    q = pl.when(pl.col("u").is_null()).then(pl.col("b0")).otherwise(
        pl.col("g0") + (pl.min_horizontal("v", "p") - pl.col("u")).clip(0, None))
    # axis order; at one point the lower priority is pushed first, so the higher is on top
    cars = cars.with_columns(q=q).sort("block", "q", "r", descending=[False, False, True])
    cars = cars.with_columns(gap=pl.col("q").shift(-1).over("block").fill_null(pl.col("b1"))
                             - pl.col("q"))
    if cars.height == 0:
        return pieces_in_free(cars.select("block", supply="entry_no", s="q", e="q"), free)
    block = cars.get_column("block").to_numpy()
    new_block = np.ones(len(block), dtype=bool)
    new_block[1:] = block[1:] != block[:-1]
    # events: per block a start (height 0), then per car its push and its gap
    moves = np.empty(2 * len(block), dtype=np.int64)
    moves[0::2] = cars.get_column("a").to_numpy()
    moves[1::2] = -cars.get_column("gap").to_numpy()
    new_event = np.repeat(new_block, 2)
    new_event[1::2] = False
    level = _segment_cum_sum(moves, new_event)
    height = level + _segment_cum_max(np.maximum(-level, 0), new_event)
    event_pos = np.arange(len(moves)) + np.repeat(np.cumsum(new_block), 2)
    h = np.zeros(len(moves) + int(new_block.sum()), dtype=np.int64)
    h[event_pos] = height
    car = np.full(len(h), -1, dtype=np.int64)
    car[event_pos] = np.repeat(np.arange(len(block)), 2)
    near = Nearest(h)
    j = np.flatnonzero(h > 0)
    prev, t = near.prev_below(j, h[j]), near.next_below(j, h[j])
    popped = (t >= 0) & (car[t] >= 0)  # else the next block's start: still open at the end
    j, prev, t = j[popped], prev[popped], t[popped]
    units = h[j] - np.maximum(h[prev], h[t])
    pusher, gap_car = car[prev + 1], car[t]
    start = cars.get_column("q").to_numpy()[gap_car] + h[t - 1] - h[j]
    spans = pl.DataFrame({"block": block[gap_car], "supply": cars.get_column("entry_no")
                          .to_numpy()[pusher], "s": start, "e": start + units}).unique()
    return pieces_in_free(spans.filter(pl.col("e") > pl.col("s")), free)
