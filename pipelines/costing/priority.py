"""R41, R44 by posting date: back-dated entries applied in BC's order, not in entry order.

BC takes the open inbound entries by (posting date, entry number) (R41) and closes the open
outbound entries in that order too (R44); the interval overlap of `application.py` takes both in
entry order. They differ only after an entry is posted with an earlier date than an earlier-posted
one of its key and side. A key's stock is either on hand (open inbounds) or short (open
outbounds), never both but for sales returns on hand beside open outbounds (R45: they close
nothing), and whenever it crosses zero everything open is taken: so the entry-order applications
fall into two one-sided problems, the same problem with the roles swapped. On hand,
the open inbounds are the supply and the outbounds that take them (outbound after inbound) the
demand; short, the open outbounds are the supply and the inbounds that close them (inbound after
outbound) the demand; an entry never open on a side (an inbound that only closed open outbounds,
an outbound that only took stock on hand) takes no part in it. Each side: sort the supply by
(posting date, entry number) and cut after every rank where the entries so far are exactly the
first ones in entry order. A block between two cuts is a run of consecutive supply entries, so
every demand entry takes from the block as a whole exactly what the entry-order overlap gives
it; only which of the block's entries gives it changes. Inside a block, taking the open entries
by priority at each demand entry is first-fit parking in priority order: each supply entry takes
the first free units of the block's demand posted after it. A run of rising entry numbers in a
block's priority order parks at once (a running maximum); the runs (about one per back-dated
entry in a block) are put together by halves (`park_by_halves`): a loop of about log2 of the
most runs in a block, all blocks of both sides at once.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.costing.by_entry import row_positions, sums_per_entry
from pipelines.costing.overlap import overlap
from pipelines.costing.windows import NONE, window_max
from pipelines.rounding import segment_cum_sum


def reorderable_keys(flow: pl.DataFrame) -> pl.DataFrame:
    """Keys (key_id) with a back-dated entry that this module applies by posting date."""
    back = back_dated(flow)
    return _keys(_of_keys(flow, back), back)


def _of_keys(flow: pl.DataFrame, back: pl.DataFrame) -> pl.DataFrame:
    """The flow of the keys with back-dated entries, on the few columns read here (the flow is
    wide)."""
    passes = pl.col("passes") if "passes" in flow.columns else pl.lit(False)
    return flow.select(
        "key_id", "entry_no", "posting_date", "transaction_no", "inbound", "lifo", "delta",
        "units", passes=passes,
    ).join(back.select("key_id").unique(), on="key_id", how="semi")


def _keys(flow: pl.DataFrame, back: pl.DataFrame) -> pl.DataFrame:
    """The keys with a back-dated entry this module reorders: all but LIFO ones
    (`lifo_dates.py`). A to-leg passing over (R44a) closes what it may in entry order where no
    outbound is back-dated, and nothing where one is, like a sales return on hand while short
    (R45): what it leaves open is read off the applications as for any entry."""
    if back.height == 0:
        return back.select("key_id")
    return (
        flow.lazy().group_by("key_id")
        .agg(ok=~pl.col("lifo").any())
        .filter("ok").select("key_id").sort("key_id")
        .collect()
    )


def _plan(flow: pl.DataFrame, applications: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(keys, block members of both sides). Units reserved by fixed applications (R43) are not
    in the flow (`cap`): on valid input BC's automatic application never takes them, and
    `dated_fixed_violations` tells when it would.

    What an entry leaves open on its side (`a`) does not depend on the order the open entries
    are taken in (an outbound takes what is on hand, an inbound closes what is open), so it is
    read off the entry-order `applications`: an inbound's units less those closing earlier
    outbounds, an outbound's less those taken from earlier inbounds. A sales return on hand
    while the key is short (R45) closes nothing and leaves all its units open beside the open
    outbounds."""
    back = back_dated(flow)
    if back.height == 0:
        return back.select("key_id"), pl.DataFrame()
    flow = _of_keys(flow, back)
    keys = _keys(flow, back)
    # the sides with a back-dated entry (a side without one keeps entry order) of those keys,
    # as one integer per side: a filter, not two joins over millions of entries
    side = pl.col("key_id") * 2 + pl.col("inbound").cast(pl.Int64)
    sides = back.join(keys, on="key_id", how="semi").select(side.unique()).to_series()
    ranked = flow.filter(side.is_in(sides.implode()))
    ranked = ranked.select(
        "key_id", "entry_no", "posting_date", "transaction_no", "inbound",
        a=pl.when(pl.col("inbound")).then("delta").otherwise("units")
        - _settled_on_arrival(ranked, applications))
    # an entry never open on its side takes no part
    ranked = ranked.filter(pl.col("a") > 0).with_columns(
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
    return keys, members


def _settled_on_arrival(entries: pl.DataFrame, applications: pl.DataFrame) -> pl.Series:
    """Per row of `entries` (entry_no, inbound): the units applied when it was posted, to
    entries of the other side posted before it (an inbound closing open outbounds, an outbound
    taking stock on hand), from the entry-order `applications` (inbound, outbound, units). Summed
    by entry number (bincount: a group-by over millions of applications is the slow part)."""
    inbound, outbound = applications.get_column("inbound"), applications.get_column("outbound")
    n = int(max(inbound.max() or 0, outbound.max() or 0, entries.get_column("entry_no").max() or 0))
    closing = outbound < inbound
    on_arrival = pl.Series(np.where(closing.to_numpy(), inbound.to_numpy(), outbound.to_numpy()))
    settled = sums_per_entry(on_arrival, applications.select(
        pl.col("units").cast(pl.Float64)), n).get_column("units")  # below 2^53: exact
    return settled.gather(entries.get_column("entry_no") - 1).cast(pl.Int64)


_NONE = -(1 << 62)  # below every stamp (dates before 1970 are negative)


def back_dated(flow: pl.DataFrame) -> pl.DataFrame:
    """R41: the entries (key_id, entry_no, inbound) dated before an earlier-posted entry of their
    key and side. `flow` is sorted by (key_id, entry_no): per side, one running maximum of (key,
    date) over the whole frame (a key's stamps exceed every earlier key's) stands for the
    per-key one, without a window; the other side's rows count as the lowest stamp."""
    stamp = pl.col("key_id") * (1 << 24) + pl.col("posting_date").cast(pl.Int64)
    inbound = pl.col("inbound")

    def earlier_max(side: pl.Expr) -> pl.Expr:
        return pl.when(side).then(stamp).otherwise(_NONE).cum_max().shift(1, fill_value=_NONE)

    back = stamp < pl.when(inbound).then(earlier_max(inbound)).otherwise(earlier_max(~inbound))
    return flow.select("key_id", "entry_no", "inbound", back=back).filter("back").drop("back")


def by_posting_date(flow: pl.DataFrame,
                    applications: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`applications` (inbound, outbound, units, in entry order) with those of the reordered
    blocks taken by (posting date, entry number): on hand the inbound entries' order, short the
    outbound entries'; and the reordered keys (key_id)."""
    keys, members = _plan(flow, applications)
    if members.height == 0:
        return applications, keys
    on_hand = pl.col("inbound") < pl.col("outbound")  # the outbound took an open inbound
    supplied = pl.concat([  # each side as (supply, demand, units), by priority in the blocks
        side_by_priority(members.filter("inbound"), applications.filter(on_hand).select(
            supply="inbound", demand="outbound", units="units")
        ).select(inbound="supply", outbound="demand", units="units"),
        side_by_priority(members.filter(~pl.col("inbound")), applications.filter(~on_hand).select(
            supply="outbound", demand="inbound", units="units")
        ).select(inbound="demand", outbound="supply", units="units"),
    ])
    return supplied.select(applications.columns), keys


def side_by_priority(members: pl.DataFrame, pairs: pl.DataFrame, park=None) -> pl.DataFrame:
    """One side's applications (supply, demand, units): outside the blocks as they are, inside
    by priority, each block's run parked by `park` (FIFO's running maximum by default)."""
    in_block = members.select(supply="entry_no", block="block")
    return pl.concat([pairs.join(in_block, on="supply", how="anti"),
                      _reorder(members, pairs.join(in_block, on="supply"), park or _park)])


def _reorder(members: pl.DataFrame, pairs: pl.DataFrame, park) -> pl.DataFrame:
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
    parked = park(cars, demand.group_by("block").agg(v=pl.col("units").sum()))
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
    the pieces (block, supply, x0, units).

    Cars whose entry numbers rise with their rank form a run; in a run `p` rises too, so each
    car's units start after the previous car's (`s_k = max(q_k, s_(k-1) + a_(k-1))` in free
    units): a running maximum parks a whole run at once (`_park_run`); `park_by_halves` puts
    the runs of every block together."""
    return park_by_halves(cars.sort("block", "r").with_columns(
        run=runs_of_rising(pl.col("supply"))), free, _park_run)


def park_by_halves(cars: pl.DataFrame, free: pl.DataFrame, park_run) -> pl.DataFrame:
    """First-fit parking by rank of cars (block, r, run, supply, a, p) whose runs `park_run`
    parks one per block (with the block's free intervals (block, u, v)), all runs of all blocks
    in a number of steps logarithmic in the runs of the largest block, not one per run.

    Which units a set of cars occupies under first-fit parking does not depend on the order
    the cars park in (only which car gets which unit does), so the cars of the first half of a
    block's runs, sorted by `p`, occupy with one running maximum what they would occupy run by
    run: the second half parks in what they leave. Halving again down to single runs, every
    range of runs at one depth is a block of its own (`node`), all parked at once."""
    runs = int(cars.get_column("run").max()) + 1 if cars.height else 1
    width = 1 << (runs - 1).bit_length()  # the runs of every block fit in [0, width)
    free = free.select("block", u=pl.lit(0, pl.Int64), v="v").filter(pl.col("v") > 0)
    cars = cars.with_columns(node=pl.col("block").cast(pl.Int64) * width,
                             block_of=pl.col("block"))
    free = free.select(pl.col("block").cast(pl.Int64) * width, "u", "v")
    while width > 1:
        half = width // 2
        second_half = pl.col("run") % width >= half
        split = cars.filter(second_half).select(block="node").unique()  # nodes with two halves
        parent = free.join(split, on="block", how="semi")
        occupied = _park_run(cars.filter(~second_half).select(
            block="node", supply="supply", a="a", p="p").join(split, on="block", how="semi")
            .sort("block", "p").with_columns(r=pl.int_range(pl.len()).over("block")), parent)
        # the first half keeps the node's free units, the second half gets what the first leaves
        second = without_pieces(parent, occupied).with_columns(pl.col("block") + half)
        cars = cars.with_columns(node=pl.col("node") + second_half.cast(pl.Int64) * half)
        free = pl.concat([free, second]).join(cars.select(block="node").unique(), on="block",
                                             how="semi").sort("block", "u")
        width = half
    parked = park_run(cars.select(pl.col("node").alias("block"), "r", "supply", "a", "p")
                      .sort("block", "r"), free)
    block_of = cars.select(block="node", block_of="block_of").unique("block")
    return parked.join(block_of, on="block").select(
        pl.col("block_of").alias("block"), "supply", "x0", "units")


def runs_of_rising(entry: pl.Expr) -> pl.Expr:
    """Per block in rank order: the run of rising entry numbers each entry belongs to (0, 1...)."""
    return (entry < entry.shift(1).over("block")).fill_null(False).cum_sum().over("block")


def _park_run(cars: pl.DataFrame, free: pl.DataFrame) -> pl.DataFrame:
    """One run per block (cars sorted by block and rank) parked into the free intervals
    (block, u, v): the pieces (block, supply, x0, units, interval) where `interval` is the row
    of `free` a piece lies in."""
    free = free_axis(free)
    base = free.group_by("block").agg(b0=pl.col("g0").min(),
                                      b1=pl.col("g0").max() + pl.col("length").last())
    cars = cars.join_asof(free.select("block", "u", "v", "g0"), left_on="p", right_on="u",
                          by="block", strategy="backward", check_sortedness=False).join(
        base, on="block", how="left").sort("block", "r")
    # q: the first free unit at or after p, in the global free coordinate
    q = pl.when(pl.col("u").is_null()).then(pl.col("b0")).otherwise(
        pl.col("g0") + (pl.min_horizontal("v", "p") - pl.col("u")).clip(0, None))
    before = pl.col("a").cum_sum().over("block") - pl.col("a")
    cars = cars.with_columns(q=q.fill_null(0)).with_columns(
        s=before + (pl.col("q") - before).cum_max().over("block")).with_columns(
        e=pl.min_horizontal(pl.col("s") + pl.col("a"), pl.col("b1").fill_null(0)))
    return pieces_in_free(cars.select("block", "supply", "s", "e"), free)


def free_axis(free: pl.DataFrame) -> pl.DataFrame:
    """The free intervals (block, u, v) numbered (`interval`) and laid end to end: `g0`, the free
    units before each over all blocks, is the global free coordinate of its start."""
    return free.sort("block", "u").with_row_index("interval").with_columns(
        length=pl.col("v") - pl.col("u")).with_columns(
        g0=pl.col("length").cum_sum() - pl.col("length"))


def pieces_in_free(cars: pl.DataFrame, free: pl.DataFrame) -> pl.DataFrame:
    """Spans [s, e) of the global free coordinate (block, supply, s, e) cut at the free
    intervals they cross (`free_axis`): the pieces (block, supply, interval, x0, units)."""
    cars = cars.filter(pl.col("e") > pl.col("s"))
    if cars.height == 0:
        return pl.DataFrame(schema={"block": cars.schema["block"], "supply": pl.Int64,
                                    "interval": pl.UInt32, "x0": pl.Int64, "units": pl.Int64})
    g0 = free.get_column("g0").to_numpy()
    g1 = g0 + free.get_column("length").to_numpy()
    first = np.searchsorted(g1, cars.get_column("s").to_numpy(), side="right")
    last = np.searchsorted(g0, cars.get_column("e").to_numpy(), side="left") - 1
    spans = cars.select("block", "supply", "s", "e").with_columns(
        interval=pl.int_ranges(pl.Series(first), pl.Series(last) + 1, dtype=pl.UInt32)
    ).explode("interval").join(free.select("interval", "u", "g0", "length"), on="interval")
    start = pl.max_horizontal("s", "g0")
    return spans.select(
        "block", "supply", "interval", x0=pl.col("u") + start - pl.col("g0"),
        units=pl.min_horizontal("e", pl.col("g0") + pl.col("length")) - start)


def without_pieces(free: pl.DataFrame, parked: pl.DataFrame) -> pl.DataFrame:
    """The free intervals (block, u, v) minus the parked pieces (their `interval` is a row of
    `free` sorted by block and u): the gaps before, between and after the pieces."""
    free = free.sort("block", "u").with_row_index("interval")
    cut = parked.join(free.select("interval", "u", "v"), on="interval").sort("interval", "x0")
    gaps = pl.concat([
        cut.select("block", "interval",
                   u=(pl.col("x0") + pl.col("units")).shift(1).over("interval")
                   .fill_null(pl.col("u")), v="x0"),
        cut.group_by("block", "interval").agg(u=(pl.col("x0") + pl.col("units")).max(),
                                              v=pl.col("v").first()),
    ])
    return pl.concat([
        free.join(cut.select("interval").unique(), on="interval", how="anti").drop("interval"),
        gaps.drop("interval"),
    ]).filter(pl.col("v") > pl.col("u")).sort("block", "u")


def dated_fixed_violations(flow: pl.DataFrame, applications: pl.DataFrame,
                           reserved: pl.DataFrame) -> pl.DataFrame:
    """R43, R160 on the FIFO keys of `flow` taken by posting date: the rows of `reserved`
    (inbound, last_fixed_tx) whose reserved units BC's automatic application would have taken.

    Until its last fixed application an inbound's reserved units are on hand at its priority
    (posting date, entry number). So they are taken if, in that time, an outbound takes a unit
    of lower priority (the inbound's unreserved units are gone then, the reserved ones are
    next), or an outbound is open without them: one left open in that time, or the inbound's
    unreserved units not closing the outbounds open when it is posted (BC closes them with all
    of it; a sales return, R45, or a passing to-leg, R44a, closes nothing anyway). As
    `lifo_dates.dated_capacity_violations` for LIFO's order."""
    entries = flow.select("key_id", "entry_no", "transaction_no", "posting_date", "inbound",
                          "cap", "units", closes=~(pl.col("receiving") & (
                              (pl.col("type") == "sales_return") | pl.col("passes"))))
    # what each entry leaves open on the short side: an outbound its units not taken from
    # stock, an inbound the outbounds it did not close (the balance alone does not tell beside
    # a sales return on hand while short, R45, or a to-leg passing over, R44a: they close
    # nothing, and the outbounds open before them are no reason to take reserved units)
    settled = _settled_on_arrival(entries, applications)
    entries = entries.with_columns(open_after=segment_cum_sum(
        pl.when(pl.col("inbound")).then(-settled).otherwise(pl.col("units") - settled),
        "key_id"), left_open=pl.when(pl.col("inbound")).then(0).otherwise(
        pl.col("units") - settled))
    checked = reserved.join(entries.filter("inbound").select(
        "key_id", "cap", inbound="entry_no", lo="transaction_no",
        prio=priority_stamp("posting_date", "entry_no"),
        not_closed=pl.col("closes") & (pl.col("open_after") > 0)), on="inbound").with_columns(
        hi="last_fixed_tx")
    if checked.height == 0:
        return reserved.clear()
    short = window_max(checked, entries.filter(pl.col("left_open") > 0).select(
        "key_id", "transaction_no", value=pl.lit(1, pl.Int64)))
    lowest = window_max(checked, taken_stamps(entries, applications))
    return checked.filter((pl.col("cap") < 0) | pl.col("not_closed") | (short > NONE)
                          | (lowest > checked["prio"])).select(reserved.columns)


def priority_stamp(date: str, entry_no: str) -> pl.Expr:
    """(posting date, entry number) as one integer that sorts the same way."""
    return pl.col(date).cast(pl.Int64) * (1 << 32) + pl.col(entry_no)


def taken_stamps(entries: pl.DataFrame, applications: pl.DataFrame) -> pl.DataFrame:
    """(key_id, transaction_no, value): per automatic application of an outbound of `entries`
    to stock on hand, the outbound's transaction and the `priority_stamp` of what it took.
    Entries are found by position (arrays indexed by entry number), not by two joins over
    millions of applications for the few keys taken by posting date."""
    on_hand = applications.filter(pl.col("inbound") < pl.col("outbound"))
    entry_no = entries.get_column("entry_no").to_numpy()
    out_row, in_row = (row_positions(entry_no, on_hand.get_column(c).to_numpy())
                       for c in ("outbound", "inbound"))
    keep = (out_row >= 0) & (in_row >= 0)
    keep[keep] = ~entries.get_column("inbound").to_numpy()[out_row[keep]]  # an outbound's row
    keep_out, keep_in = pl.Series(out_row[keep]), pl.Series(in_row[keep])
    return pl.DataFrame({
        "key_id": entries.get_column("key_id").gather(keep_out),
        "transaction_no": entries.get_column("transaction_no").gather(keep_out),
        "value": entries.select(priority_stamp("posting_date", "entry_no")).to_series()
        .gather(keep_in),
    })
