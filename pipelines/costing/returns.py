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
    """Per outbound: `matched` units served by on-hand units (`hand`), `passed` units left over."""
    span = int(max(stream_in.get_column("cap").sum(), stream_out.get_column("units").sum())) + 1
    rows = pl.concat([
        stream_in.filter(pl.col("hand") > 0).select("key_id", "entry_no", s="hand",
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


def _balance(stream_in: pl.DataFrame, stream_out: pl.DataFrame) -> pl.DataFrame:
    """Per candidate inbound: phase 2's balance `before` it (negative: outbounds open) and the
    regular units before it (`regular_before`)."""
    rows = pl.concat([
        stream_in.select("key_id", "entry_no", "candidate", "cap",
                         delta=pl.col("cap") - pl.col("hand")),
        stream_out.select("key_id", "entry_no", candidate=pl.lit(False),
                          cap=pl.lit(0, dtype=pl.Int64), delta=-pl.col("passed")),
    ]).sort("key_id", "entry_no")
    regular = pl.col("delta").clip(lower_bound=0)
    return (rows.with_columns(
        before=segment_cum_sum(pl.col("delta"), "key_id") - pl.col("delta"),
        regular_before=segment_cum_sum(regular, "key_id") - regular)
        .filter("candidate").select("entry_no", "before", "regular_before"))


def _pieces(stream_out: pl.DataFrame, moves: pl.DataFrame) -> pl.DataFrame:
    """Phase 2's demand as pieces in the order the regular inbounds close them: each outbound's
    passed units at its own place, less what pass-overs moved (`moves`: outbound, anchor, m = its
    open units when the to-leg `anchor` was posted), and each moved part at its anchor, behind
    every outbound posted before the anchor (R44a). Sorted by (key_id, anchor, outbound)."""
    own = stream_out.select("key_id", "entry_no", "matched", anchor="entry_no", m="passed")
    moved = moves.join(stream_out.select("key_id", outbound="entry_no"), on="outbound").select(
        "key_id", entry_no="outbound", matched=pl.lit(0, dtype=pl.Int64), anchor="anchor",
        m="m")
    return (
        pl.concat([own, moved]).sort("entry_no", "anchor")
        # a piece keeps what is still open at its anchor less what the next anchor moves on
        .with_columns(units=pl.col("m") - pl.col("m").shift(-1).over("entry_no").fill_null(0))
        .with_columns(pl.col("units").clip(lower_bound=0))
        .sort("key_id", "anchor", "entry_no")
        .drop("m")
    )


def _pass_overs(stream_in: pl.DataFrame, stream_out: pl.DataFrame, balance: pl.DataFrame,
                moves: pl.DataFrame, skips: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """R44a: the on-hand units of the to-legs in `skips` and the moves they make.

    A to-leg posted while its key is short closes the open outbounds it does not depend on in
    FIFO order (N units open); whatever it has beyond them goes on hand (`hand`) and the open
    units of those it depends on (`skips`) move behind the ones it closed. When it has fewer
    units than N, nothing moves: the outbounds it passes over are then only right when none of
    them lies before the last unit it closes, which `application.py` checks (R44a, stuck)."""
    keys = skips.join(stream_in.select(inbound="entry_no", key_id="key_id"), on="inbound")
    out = stream_out.join(keys.select("key_id").unique(), on="key_id", how="semi")
    pieces = _pieces(out, moves).with_columns(
        s=segment_cum_sum(pl.col("units"), "key_id") - pl.col("units"))
    to_legs = keys.select("inbound").unique().join(
        balance.rename({"entry_no": "inbound"}), on="inbound").join(
        stream_in.select(inbound="entry_no", cap="cap"), on="inbound")
    covered = (
        skips.join(to_legs.select("inbound", "regular_before"), on="inbound")
        .join(pieces.select(outbound="entry_no", s="s", u="units"), on="outbound")
        .group_by("inbound", "outbound")
        .agg(covered=(pl.col("regular_before") - pl.col("s")).clip(0, pl.col("u")).sum())
    )
    open_then = (
        covered.join(out.select(outbound="entry_no", passed="passed"), on="outbound")
        .select("inbound", "outbound", m=pl.col("passed") - pl.col("covered"))
    )
    per_leg = to_legs.join(
        open_then.group_by("inbound").agg(d_open=pl.col("m").sum()), on="inbound", how="left"
    ).with_columns(n_open=-pl.col("before") - pl.col("d_open").fill_null(0))
    full = (pl.col("before") < 0) & (pl.col("cap") >= pl.col("n_open"))
    per_leg = per_leg.with_columns(full=full, hand=pl.when(full).then(
        pl.col("cap") - pl.col("n_open")).otherwise(0))
    hand = stream_in.select("entry_no").join(
        per_leg.select(entry_no="inbound", hand="hand"), on="entry_no", how="left",
        maintain_order="left").get_column("hand")
    new_moves = open_then.join(per_leg.filter("full").select("inbound"), on="inbound",
                               how="semi").filter(pl.col("m") > 0).select(
        "outbound", anchor="inbound", m="m").sort("outbound", "anchor")
    return hand, new_moves


def split_on_hand_returns(
    stream_in: pl.DataFrame, stream_out: pl.DataFrame, skips: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """R45: (on-hand returns, regular inbound stream, outbound stream of passed demand).

    To-legs passing over the open outbounds (`passes`, R44a) close nothing either: on-hand too.
    A to-leg in `skips` (inbound, outbound: the open outbounds its cost depends on, R44a) closes
    the other open outbounds first and is on hand only with what it has beyond them
    (`_pass_overs`): it can be in both streams, and the demand then has pieces.

    `stream_in` (key_id, entry_no, cap, type, receiving, passes) and `stream_out` (key_id, entry_no,
    units) are the automatic streams, sorted by (key_id, entry_no). The on-hand returns come back
    with `cap` = their on-hand units, the regular stream with `cap` = the rest, the outbounds
    (pieces, in the order phase 2 closes them) with `units` = their passed demand and `matched`
    = the units the on-hand returns serve (overlap the two for the phase-1 applications).
    """
    skips = skips if skips is not None else pl.DataFrame(
        schema={"inbound": pl.Int64, "outbound": pl.Int64})
    stream_in = stream_in.with_columns(
        candidate=((pl.col("type") == "sales_return")
                   | (pl.col("passes") if "passes" in stream_in.columns else False))
        & pl.col("receiving")
        & (pl.col("cap") > 0),
        hand=pl.lit(0, dtype=pl.Int64))
    moves = pl.DataFrame(schema={"outbound": pl.Int64, "anchor": pl.Int64, "m": pl.Int64})
    out = stream_out.with_columns(passed=pl.col("units"), matched=pl.lit(0, dtype=pl.Int64))
    for _ in range(MAX_ROUNDS):
        balance = _balance(stream_in, out)
        hand = stream_in.select("entry_no").join(
            balance.select("entry_no", hand=pl.when(pl.col("before") < 0).then(0).otherwise(None)),
            on="entry_no", how="left", maintain_order="left").select(
            pl.when(pl.col("hand").is_not_null()).then(stream_in.get_column("cap"))
            .otherwise(0)).to_series()
        new_moves = moves
        if skips.height:
            mixed, new_moves = _pass_overs(stream_in, out, balance, moves, skips)
            hand = mixed.fill_null(hand).alias("hand")
        if hand.equals(stream_in.get_column("hand"), check_names=False) and new_moves.equals(
                moves):
            break
        stream_in, moves = stream_in.with_columns(hand=hand), new_moves
        out = stream_out.join(_phase_one(stream_in, stream_out), on="entry_no", how="left",
                              maintain_order="left")
    else:
        raise NotSupportedYet([Problem(
            "transactions", None, "applies_to", None,
            f"not supported yet: sales returns into negative inventory (R45) did not settle in "
            f"{MAX_ROUNDS} rounds")])
    returns = stream_in.filter(pl.col("hand") > 0).with_columns(cap="hand")
    regular = stream_in.with_columns(cap=pl.col("cap") - pl.col("hand")).filter(pl.col("cap") > 0)
    demand = _pieces(out, moves) if moves.height else out.with_columns(units=pl.col("passed"))
    return (returns.drop("candidate", "hand"), regular.drop("candidate", "hand"),
            demand.drop("passed", "anchor", strict=False))
