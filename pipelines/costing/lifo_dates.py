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
run is a stack laid over the free demand (`_park_stack_run`). The blocks of `priority.py`,
mirrored, keep the parking to where the order changes; the runs of a block (about one per
back-dated entry in it) are put together by halves (`priority.park_by_halves`), all blocks at
once.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.costing.lifo import (
    CLOSES_NOTHING,
    cum_max_per_segment,
    cum_sum_per_segment,
    lifo_stream,
    stack_pops,
)
from pipelines.costing.lifo_passes import moved
from pipelines.costing.priority import (
    back_dated,
    free_axis,
    park_by_halves,
    pieces_in_free,
    priority_stamp,
    runs_of_rising,
    side_by_priority,
    taken_stamps,
)
from pipelines.costing.windows import NONE, window_max


def lifo_by_posting_date(flow: pl.DataFrame, applications: pl.DataFrame,
                         stream: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`applications` (inbound, outbound, units: the entry-order stacks of the LIFO keys of
    `flow`) with those of the keys with back-dated entries taken in BC's order, and those keys
    (key_id). Units reserved by fixed applications (R43): `dated_capacity_violations`.

    Blocks as in `priority.py`, mirrored: sort a stack's supply by descending (posting date,
    entry number) and cut after every rank where the entries so far are exactly the last ones
    posted. Every other entry is above or below a block's entries in both orders, so a demand
    entry takes from the block as a whole what the entry-order stack gives it; only inside a
    block does the order change."""
    back = back_dated(flow)
    keys = pl.DataFrame(schema={"key_id": flow.schema["key_id"]})
    if back.height == 0:
        return applications, keys
    # `stream`: the flow as applied, with the moves of the to-legs passing over on keys whose
    # inbounds only are back-dated (`lifo_passes.py`); they are no supply of their own
    stream, p, n = lifo_stream((flow if stream is None else stream).join(
        back.select("key_id").unique(), on="key_id", how="semi"))  # P and N: any order
    before = stream.get_column("pos").to_numpy() - 1
    stream = stream.with_columns(
        dp=pl.col("on_hand") - pl.Series(p[before]), dn=pl.col("open") - pl.Series(n[before]))
    stream = stream.filter(~moved(stream))
    keys = stream.select(pl.col("key_id").unique().sort())
    # supply `a` pushed onto a stack (side 0: P by inbounds, side 1: N by outbounds)
    ranked = pl.concat([
        stream.select("key_id", "entry_no", "posting_date", "transaction_no", side=pl.lit(side),
                      a=pl.col(move).clip(0))
        for side, move in enumerate(("dp", "dn"))
    ]).filter(pl.col("a") > 0).sort("key_id", "side", "entry_no").with_columns(
        last=pl.len().over("key_id", "side") - 1 - pl.int_range(pl.len()).over("key_id", "side"),
    ).sort("key_id", "side", "posting_date", "entry_no",
           descending=[False, False, True, True]).with_columns(
        rank=pl.int_range(pl.len()).over("key_id", "side"))
    clean = pl.col("last").cum_max().over("key_id", "side") == pl.col("rank")
    ranked = ranked.with_columns(block=((pl.col("rank") == 0)
                                        | clean.shift(1).fill_null(True)).cum_sum())
    members = ranked.with_columns(size=pl.len().over("block"),
                                  r=pl.int_range(pl.len()).over("block")).filter(
        pl.col("size") > 1)
    on_hand = pl.col("inbound") < pl.col("outbound")  # on P the inbound was pushed first
    return pl.concat([
        side_by_priority(members.filter(pl.col("side") == 0), applications.filter(on_hand)
                         .select(supply="inbound", demand="outbound", units="units"), _park)
        .select(inbound="supply", outbound="demand", units="units"),
        side_by_priority(members.filter(pl.col("side") == 1), applications.filter(~on_hand)
                         .select(supply="outbound", demand="inbound", units="units"), _park)
        .select(inbound="demand", outbound="supply", units="units"),
    ]), keys


def _park(cars: pl.DataFrame, free: pl.DataFrame) -> pl.DataFrame:
    """Cars (block, r, supply, a, p) by runs of falling entry numbers, all blocks at once
    (`priority.park_by_halves`): the pieces (block, supply, x0, units) of the free demand axis
    (block, v) each takes."""
    return park_by_halves(cars.sort("block", "r").with_columns(
        run=runs_of_rising(-pl.col("supply"))), free, _park_stack_run)


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
        return pieces_in_free(cars.select("block", "supply", s="q", e="q"), free)
    block = cars.get_column("block").to_numpy()
    new_block = np.ones(len(block), dtype=bool)
    new_block[1:] = block[1:] != block[:-1]
    # events: per block a start (height 0), then per car its push and its gap
    moves = np.empty(2 * len(block), dtype=np.int64)
    moves[0::2] = cars.get_column("a").to_numpy()
    moves[1::2] = -cars.get_column("gap").to_numpy()
    new_event = np.repeat(new_block, 2)
    new_event[1::2] = False
    level = cum_sum_per_segment(moves, new_event)
    height = level + cum_max_per_segment(np.maximum(-level, 0), new_event)
    event_pos = np.arange(len(moves)) + np.repeat(np.cumsum(new_block), 2)
    h = np.zeros(len(moves) + int(new_block.sum()), dtype=np.int64)
    h[event_pos] = height
    car = np.full(len(h), -1, dtype=np.int64)
    car[event_pos] = np.repeat(np.arange(len(block)), 2)
    j, pushed, t, units = stack_pops(h, car)
    pusher, gap_car = car[pushed], car[t]
    start = cars.get_column("q").to_numpy()[gap_car] + h[t - 1] - h[j]
    spans = pl.DataFrame({"block": block[gap_car], "supply": cars.get_column("supply")
                          .to_numpy()[pusher], "s": start, "e": start + units}).unique()
    return pieces_in_free(spans.filter(pl.col("e") > pl.col("s")), free)


def dated_capacity_violations(flow: pl.DataFrame, applications: pl.DataFrame,
                              reserved: pl.DataFrame) -> pl.DataFrame:
    """R43, R160 on the LIFO keys of `flow` taken by posting date: the rows of `reserved`
    (inbound, last_fixed_tx) whose reserved units BC's automatic application would have taken.

    Until its last fixed application an inbound's reserved units are on hand, at its priority.
    So they are taken if, in that time, an outbound takes a unit of lower priority than the
    inbound (the inbound's unreserved units are gone then, the reserved ones are next) or has to
    stay open (nothing else on hand), or if the inbound's own unreserved units do not close the
    open outbounds when it is posted (BC closes them with all of it; a return with applies_to
    or a to-leg passing over closes nothing, R45, R44a)."""
    stream, _, _ = lifo_stream(flow)
    entries = stream.with_columns(  # N opened by an entry (not by the moves of `lifo_passes.py`)
        opened=pl.col("open") > pl.col("open").shift(1).over("key_id").fill_null(0)).filter(
        ~moved(stream)).select("key_id", "entry_no", "transaction_no", "posting_date", "inbound",
                               "open", "cap", "opened", closes_nothing=CLOSES_NOTHING)
    checked = reserved.join(entries.select(
        "key_id", "cap", "open", "closes_nothing", inbound="entry_no",
        prio=priority_stamp("posting_date", "entry_no"),
        lo=pl.col("transaction_no") + 1), on="inbound").with_columns(hi="last_fixed_tx")
    if checked.height == 0:
        return reserved.clear()
    left_open = window_max(checked, entries.filter(~pl.col("inbound") & pl.col("opened")).select(
        "key_id", "transaction_no", value=pl.lit(1, pl.Int64)))
    # LIFO ranks the later date first: a lower priority is an earlier stamp, so the negated
    # stamps' maximum is the lowest priority taken in the window
    lowest = window_max(checked, taken_stamps(entries, applications).with_columns(
        value=-pl.col("value")))
    return checked.filter(
        (pl.col("cap") < 0) | ((pl.col("open") > 0) & ~pl.col("closes_nothing"))
        | (left_open > NONE) | (lowest > -checked["prio"])).select(reserved.columns)
