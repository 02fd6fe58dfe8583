"""Sales returns with applies_to posted into negative inventory (R45), FIFO order.

Such a return closes nothing: its units go on hand while the key still has open outbounds. The
outbounds posted after it take on-hand units first, and on-hand units are the oldest of what
arrives, so these returns form their own FIFO queue served before the regular stream:

- phase 1: the on-hand returns against all automatic outbound demand, where a demand unit can only
  take a return posted before it. With `X = demand so far − returns so far`, the demand passed on
  (nothing on hand) is the running maximum of `max(X, 0)` (a reflection at zero, as in a queue
  that loses arrivals it cannot serve); the rest is matched, unit j of it to return unit j.
- phase 2: the regular inbounds against the passed demand, the usual interval overlap (R44).

Which returns are on-hand returns depends on phase 2's balance when they are posted, which depends
on phase 1: a few whole-table rounds until the set no longer changes.
"""

from __future__ import annotations

import polars as pl

from pipelines.errors import NotSupportedYet, Problem
from pipelines.rounding import segment_cum_sum

MAX_ROUNDS = 20


def _segment_cum_max(x: pl.Expr, key: str, span: int) -> pl.Expr:
    """Running maximum of a non-negative `x` < span restarting per key (frame sorted by key)."""
    rank = pl.col(key).rank("dense").cast(pl.Int64)
    return (x + rank * span).cum_max() - rank * span


def _phase_one(stream_in: pl.DataFrame, stream_out: pl.DataFrame) -> pl.DataFrame:
    """Per outbound: `matched` units served by on-hand returns, `passed` units left over."""
    span = int(max(stream_in.get_column("cap").sum(), stream_out.get_column("units").sum())) + 1
    rows = pl.concat([
        stream_in.filter(pl.col("on_hand")).select("key_id", "entry_no", s="cap",
                                                   d=pl.lit(0, dtype=pl.Int64)),
        stream_out.select("key_id", "entry_no", s=pl.lit(0, dtype=pl.Int64), d="units"),
    ]).sort("key_id", "entry_no")
    x = segment_cum_sum(pl.col("d"), "key_id") - segment_cum_sum(pl.col("s"), "key_id")
    return (
        rows.with_columns(passed_so_far=_segment_cum_max(pl.max_horizontal(x, 0), "key_id", span))
        .with_columns(passed=pl.col("passed_so_far") - pl.when(
            pl.col("key_id") == pl.col("key_id").shift(1)).then(
            pl.col("passed_so_far").shift(1)).otherwise(0))
        .filter(pl.col("s") == 0)
        .select("entry_no", passed="passed", matched=pl.col("d") - pl.col("passed"))
    )


def _on_hand(stream_in: pl.DataFrame, stream_out: pl.DataFrame) -> pl.Series:
    """R45 candidates posted while phase 2's balance is negative (open outbounds)."""
    rows = pl.concat([
        stream_in.select("key_id", "entry_no", "candidate",
                         delta=pl.when(pl.col("on_hand")).then(0).otherwise(pl.col("cap"))),
        stream_out.select("key_id", "entry_no", candidate=pl.lit(False), delta=-pl.col("passed")),
    ]).sort("key_id", "entry_no")
    return (rows.with_columns(before=segment_cum_sum(pl.col("delta"), "key_id") - pl.col("delta"))
            .filter(pl.col("candidate") & (pl.col("before") < 0))
            .get_column("entry_no"))


def split_on_hand_returns(
    stream_in: pl.DataFrame, stream_out: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """R45: (on-hand returns, regular inbound stream, outbound stream of passed demand).

    To-legs passing over the open outbounds (`passes`, R44a) close nothing either: on-hand too.

    `stream_in` (key_id, entry_no, cap, type, receiving, passes) and `stream_out` (key_id, entry_no,
    units) are the automatic streams, sorted by (key_id, entry_no). The on-hand returns come back
    with `cap`, the outbounds with `units` = their passed demand and `matched` = the units the
    on-hand returns serve (overlap the two for the phase-1 applications).
    """
    stream_in = stream_in.with_columns(
        candidate=((pl.col("type") == "sales_return")
                   | (pl.col("passes") if "passes" in stream_in.columns else False))
        & pl.col("receiving")
        & (pl.col("cap") > 0),
        on_hand=pl.lit(False))
    out = stream_out.with_columns(passed=pl.col("units"), matched=pl.lit(0, dtype=pl.Int64))
    for _ in range(MAX_ROUNDS):
        on_hand = _on_hand(stream_in, out)
        if on_hand.len() == stream_in.get_column("on_hand").sum() and stream_in.filter(
                pl.col("on_hand")).get_column("entry_no").is_in(on_hand.implode()).all():
            break
        stream_in = stream_in.with_columns(on_hand=pl.col("entry_no").is_in(on_hand.implode()))
        out = stream_out.join(_phase_one(stream_in, stream_out), on="entry_no", how="left",
                              maintain_order="left")
    else:
        raise NotSupportedYet([Problem(
            "transactions", None, "applies_to", None,
            f"not supported yet: sales returns into negative inventory (R45) did not settle in "
            f"{MAX_ROUNDS} rounds")])
    returns = stream_in.filter(pl.col("on_hand")).drop("candidate", "on_hand")
    regular = stream_in.filter(~pl.col("on_hand")).drop("candidate", "on_hand")
    return returns, regular, out.with_columns(units=pl.col("passed")).drop("passed")
