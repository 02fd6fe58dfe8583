"""R44a on LIFO keys: a to-leg passing over open outbounds its cost depends on closes the others,
latest first; the ones it passes over stay open.

N, the open outbound units, is a stack in entry order (`lifo.py`), and stays one: the to-leg T
takes its top units, skipping the outbounds X it depends on, so what stays open is still in
entry order. A stack cannot skip, so the stream gets a few moves of its own around each such T,
on N only (P is not touched): just before T, the block of N from the lowest open X up is popped
(`n_pop`) and pushed back (`n_push`, on behalf of each outbound) with the units T closes on top;
where T closes all of the block's other units and goes on below it, the X are pushed back right
after T instead. How much of each outbound is open at T is read off the applications the
stream gives, so the moves come from a few whole-stream rounds, until they no longer change
(about one per passing to-leg of a key). On keys with back-dated inbounds only, what each move
leaves on hand is then taken by posting date (`lifo_dates.py` reads this stream); keys with a
back-dated outbound close their outbounds by posting date and keep their passing to-legs
closing nothing.
"""

from __future__ import annotations

import polars as pl

from pipelines.costing.lifo import lifo_applications
from pipelines.errors import NotSupportedYet, Problem

MAX_ROUNDS = 50

_MOVE = {"key_id": pl.Int64, "entry_no": pl.Int64, "sub": pl.Int32, "owner": pl.Int64,
         "delta": pl.Int64, "n_push": pl.Boolean, "n_pop": pl.Boolean}


def lifo_pass_over_applications(flow: pl.DataFrame,
                                skips: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The automatic applications of the LIFO keys of `flow` (`lifo.lifo_applications`) with
    the to-legs of `skips` (inbound, outbound: the open outbounds each passes over, keys in
    entry order only) closing the other open outbounds; and the stream that gives them (the
    flow with the moves)."""
    if skips.height == 0:
        return lifo_applications(flow), flow
    flow = flow.with_columns(passes=pl.col("passes") & ~pl.col("entry_no").is_in(
        skips.get_column("inbound").unique().implode()))
    moves = pl.DataFrame(schema=_MOVE)
    for _ in range(MAX_ROUNDS):
        stream = _with_moves(flow, moves)
        applications = lifo_applications(stream)
        found = _moves(flow, applications, skips)
        if found.equals(moves):
            return applications, stream
        moves = found
    raise NotSupportedYet([Problem(
        "transactions", None, None, None,
        f"not supported yet: LIFO pass-overs (R44a) that do not settle in {MAX_ROUNDS} rounds")])


def moved(stream: pl.DataFrame) -> pl.Expr:
    """Is a row of the stream one of the moves (not an entry)?"""
    return (pl.col("n_push") | pl.col("n_pop")) if "n_pop" in stream.columns else pl.lit(False)


def _with_moves(flow: pl.DataFrame, moves: pl.DataFrame) -> pl.DataFrame:
    """The flow with the moves before (sub < 0) or after (sub > 0) their to-leg."""
    if moves.height == 0:
        return flow
    rows = flow.with_columns(sub=pl.lit(0, pl.Int32), owner="entry_no", n_push=pl.lit(False),
                             n_pop=pl.lit(False))
    added = moves.with_columns(
        inbound=pl.col("n_pop"), receiving=pl.lit(False), passes=pl.lit(False),
        type=pl.lit("transfer").cast(flow.schema["type"]))
    return pl.concat([rows, added], how="diagonal_relaxed").sort(
        "key_id", "entry_no", "sub", "owner")


def _moves(flow: pl.DataFrame, applications: pl.DataFrame, skips: pl.DataFrame) -> pl.DataFrame:
    """The moves re-ordering N around each passing to-leg T, from the applications: per
    outbound o posted before T on its key, `open` units then (none by T itself)."""
    legs = flow.join(skips.select(entry_no="inbound").unique(), on="entry_no", how="semi").select(
        "key_id", t="entry_no", cap="delta")
    outbounds = flow.filter(~pl.col("inbound")).select("key_id", o="entry_no", units="units")
    pairs = legs.join(outbounds, on="key_id").filter(pl.col("o") < pl.col("t"))
    applied = pairs.select("t", "o").join(
        applications.select(i="inbound", o="outbound", applied="units"), on="o").filter(
        pl.col("i") < pl.col("t")).group_by("t", "o").agg(pl.col("applied").sum())
    skipped = skips.select(t="inbound", o="outbound", skipped=pl.lit(True))
    state = (
        pairs.join(applied, on=["t", "o"], how="left")
        .with_columns(open=pl.col("units") - pl.col("applied").fill_null(0))
        .filter(pl.col("open") > 0)
        .join(skipped, on=["t", "o"], how="left").with_columns(pl.col("skipped").fill_null(False))
        .with_columns(lowest=pl.col("o").filter("skipped").min().over("t"))
        .filter(pl.col("lowest").is_not_null())
        .sort("t", "o")
    )
    own = pl.when(pl.col("skipped")).then(0).otherwise("open")  # what T may close of it
    block = (
        # c: the units T closes (its cap, or every other open unit of its key)
        state.with_columns(c=pl.min_horizontal("cap", own.sum().over("t")))
        .filter(pl.col("o") >= pl.col("lowest"))
        # T closes all of the block's others (and goes on below it)?
        .with_columns(below=pl.col("c") >= own.sum().over("t"))
        # else the block's other units T closes, latest first
        .with_columns(later=own.cum_sum(reverse=True).over("t") - own)
        .with_columns(closed=(pl.col("c") - pl.col("later")).clip(0, None).clip(upper_bound=own))
    )
    stays = pl.when(pl.col("below")).then(own).otherwise(pl.col("open") - pl.col("closed"))
    pushes = pl.concat([
        block.select("key_id", "t", "o", sub=pl.lit(-2, pl.Int32), units=stays),
        block.select("key_id", "t", "o", sub=pl.lit(-1, pl.Int32),
                     units=pl.when(pl.col("below")).then(0).otherwise("closed")),
        block.select("key_id", "t", "o", sub=pl.lit(1, pl.Int32),
                     units=pl.when(pl.col("below") & pl.col("skipped")).then("open")
                     .otherwise(0)),
    ]).filter(pl.col("units") > 0)
    pops = block.group_by("key_id", "t").agg(units=pl.col("open").sum())
    return pl.concat([
        pops.select("key_id", entry_no="t", sub=pl.lit(-3, pl.Int32), owner=pl.lit(-1, pl.Int64),
                    delta="units", n_push=pl.lit(False), n_pop=pl.lit(True)),
        pushes.select("key_id", entry_no="t", sub="sub", owner="o", delta=-pl.col("units"),
                      n_push=pl.lit(True), n_pop=pl.lit(False)),
    ]).cast(_MOVE).sort("key_id", "entry_no", "sub", "owner")
