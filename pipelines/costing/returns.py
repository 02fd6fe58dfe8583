"""Sales returns with applies_to posted into negative inventory (R45) and to-legs passing over
open outbounds (R44a), FIFO order.

Such a return closes nothing: its units go on hand while the key still has open outbounds. The
outbounds posted after it take on-hand units first, and on-hand units are the oldest of what
arrives, so these returns form their own FIFO queue served before the regular stream:

- phase 1: the on-hand returns against all automatic outbound demand, where a demand unit can only
  take a return posted before it. With `X = demand so far − returns so far`, the demand passed on
  (nothing on hand) is the running maximum of `max(X, 0)` (a reflection at zero, as in a queue
  that loses arrivals it cannot serve); the rest is matched, unit j of it to return unit j.
- phase 2: the regular inbounds against the passed demand, the usual interval overlap (R44).

A to-leg passing over open outbounds its cost depends on (R44a) is on hand with what it has
beyond the open outbounds it may close; those it closes first, in FIFO order, so in phase 2 its
key's open demand is re-ordered at it (`_partition`): the passed-over outbounds wait, first in
line for the next inbound.

Which units are on hand depends on phase 2's balance when they are posted, which depends on
phase 1: a few whole-table rounds until the on-hand units no longer change.
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


def _cut(pieces: pl.DataFrame, start: pl.Expr, at: pl.Expr) -> pl.DataFrame:
    """Pieces (sorted by key_id, ord) cut in two where `at` falls inside (start, start + units);
    the second part keeps no `matched` units (phase 1 counts them once per outbound)."""
    inside = ((start < at) & (start + pl.col("units") > at)).fill_null(False)
    if not pieces.select(inside.any()).item():
        return pieces
    cut = pieces.with_columns(inside=inside, first=pl.when(inside).then(at - start))
    return pl.concat([
        cut.with_columns(units=pl.coalesce("first", "units"), sub=pl.lit(0)),
        cut.filter("inside").with_columns(units=pl.col("units") - pl.col("first"),
                                          matched=pl.lit(0, dtype=pl.Int64), sub=pl.lit(1)),
    ]).sort("ord", "sub").with_columns(ord=pl.int_range(pl.len())).drop("inside", "first", "sub")


def _partition(pieces: pl.DataFrame, legs: pl.DataFrame,
               skips: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One to-leg per key (`legs`: key_id, inbound, cap, lo, hi) closes open demand (R44a, R44):
    of the units (lo, hi] of its key's closing order, the first `cap` units of outbounds it
    does not depend on (`skips`) go first, the rest keep their order behind them. Returns the
    pieces in the new order and per to-leg the units it closes (`closes`)."""
    columns = pieces.columns
    p = pieces.join(legs, on="key_id", how="left", maintain_order="left")
    p = _cut(p, segment_cum_sum(pl.col("units"), "key_id") - pl.col("units"), pl.col("lo"))
    p = p.join(skips.select("inbound", entry_no="outbound", skip=pl.lit(True)),
               on=["inbound", "entry_no"], how="left", maintain_order="left")
    start = segment_cum_sum(pl.col("units"), "key_id") - pl.col("units")
    open_n = (start >= pl.col("lo")) & (start < pl.col("hi")) & pl.col("skip").is_null()
    n = pl.when(open_n).then("units").otherwise(0)
    n_start = segment_cum_sum(n, "key_id") - n  # the units it may close before the piece
    closes = pl.min_horizontal("cap", n.sum().over("key_id"))
    p = p.with_columns(closes=closes)
    p = _cut(p, pl.when(open_n).then(n_start), pl.col("closes"))
    group = (pl.when(pl.col("lo").is_null() | (start < pl.col("lo"))).then(0)
             .when(open_n & (n_start < pl.col("closes"))).then(1).otherwise(2))
    p = p.with_columns(group=group).sort("key_id", "group", "ord")
    return (p.select(columns).with_columns(ord=pl.int_range(pl.len())),
            p.filter(pl.col("inbound").is_not_null()).select("inbound", "closes").unique())


def _pass_overs(stream_in: pl.DataFrame, stream_out: pl.DataFrame, balance: pl.DataFrame,
                skips: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """R44a: the on-hand units of the to-legs in `skips` and the demand of their keys in the
    order the regular stream closes it.

    A to-leg posted while its key is short closes the open outbounds it does not depend on, in
    FIFO order, up to its units; what it has beyond them goes on hand (`hand`). The outbounds it
    passes over stay open, first in line for the next inbound. The to-legs of a key are taken
    one per level, in entry order (`_partition`), all keys at once."""
    legs = (
        skips.select("inbound").unique()
        .join(stream_in.select(inbound="entry_no", key_id="key_id", cap="cap"), on="inbound")
        .join(balance.rename({"entry_no": "inbound"}), on="inbound")
        .filter(pl.col("before") < 0)
        .sort("key_id", "inbound")
        .select("key_id", "inbound", "cap", lo="regular_before",
                hi=pl.col("regular_before") - pl.col("before"),
                rank=pl.int_range(pl.len()).over("key_id"))
    )
    pieces = stream_out.join(legs.select("key_id").unique(), on="key_id", how="semi").select(
        "key_id", "entry_no", "matched", units="passed", ord=pl.int_range(pl.len()))
    closes = [legs.select("inbound", closes=pl.lit(0, dtype=pl.Int64)).clear()]
    for rank in range(legs.get_column("rank").max() + 1 if legs.height else 0):
        pieces, closed = _partition(pieces, legs.filter(pl.col("rank") == rank).drop("rank"),
                                    skips)
        closes.append(closed)
    # null for the rest: a to-leg posted while its key is not short is an ordinary inbound
    hand = stream_in.select("entry_no").join(
        legs.join(pl.concat(closes), on="inbound").select(
            entry_no="inbound", hand=pl.col("cap") - pl.col("closes")),
        on="entry_no", how="left", maintain_order="left").get_column("hand")
    return hand, pieces.drop("ord")


def split_on_hand_returns(
    stream_in: pl.DataFrame, stream_out: pl.DataFrame, skips: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """R45: (on-hand returns, regular inbound stream, outbound stream of passed demand).

    To-legs passing over the open outbounds (`passes`, R44a) without `skips` (keys taken by
    posting date) close nothing either: on-hand too. A to-leg in `skips` (inbound, outbound: the
    open outbounds its cost depends on, R44a) closes the other open outbounds first and is on
    hand only with what it has beyond them (`_pass_overs`): it can be in both streams, and its
    key's demand comes in pieces.

    `stream_in` (key_id, entry_no, cap, type, receiving, passes, and `before`: the key's balance
    before it in the automatic stream) and `stream_out` (key_id, entry_no, units) are the
    automatic streams, sorted by (key_id, entry_no). The on-hand returns come back
    with `cap` = their on-hand units, the regular stream with `cap` = the rest, the outbounds
    (in pieces, in the order phase 2 closes them) with `units` = their passed demand and
    `matched` = the units the on-hand returns serve (overlap those, in entry order, for the
    phase-1 applications).
    """
    skips = skips if skips is not None else pl.DataFrame(
        schema={"inbound": pl.Int64, "outbound": pl.Int64})
    candidate = ((pl.col("type") == "sales_return")
                 | (pl.col("passes") if "passes" in stream_in.columns else False)
                 ) & pl.col("receiving") & (pl.col("cap") > 0)
    # Keys are independent, and only a key with a candidate posted short, or a to-leg of
    # `skips`, splits anything: the rounds run on those keys alone (a few in a million).
    active = pl.concat([
        stream_in.filter(candidate & (pl.col("before") < 0)).select("key_id"),
        stream_in.join(skips.select(entry_no="inbound"), on="entry_no", how="semi")
        .select("key_id"),
    ]).unique()
    if active.height == 0:
        return (stream_in.drop("before").clear(), stream_in.drop("before"),
                stream_out.with_columns(matched=pl.lit(0, dtype=pl.Int64)))
    at = pl.col("key_id").is_in(active.get_column("key_id").implode())
    returns, regular, demand = _split(stream_in.filter(at).with_columns(candidate=candidate),
                                      stream_out.filter(at), skips)
    # the untouched keys as they are, merged back in key order (no key is in both)
    return returns, stream_in.filter(~at).drop("before").merge_sorted(regular, "key_id"), (
        stream_out.filter(~at).with_columns(matched=pl.lit(0, dtype=pl.Int64))
        .merge_sorted(demand, "key_id"))


def _split(stream_in: pl.DataFrame, stream_out: pl.DataFrame, skips: pl.DataFrame
           ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """`split_on_hand_returns` on the keys where something goes on hand: rounds over them."""
    stream_in = stream_in.drop("before").with_columns(hand=pl.lit(0, dtype=pl.Int64))
    out = stream_out.with_columns(passed=pl.col("units"), matched=pl.lit(0, dtype=pl.Int64))
    pieces = None
    for _ in range(MAX_ROUNDS):
        balance = _balance(stream_in, out)
        short = balance.filter(pl.col("before") < 0).get_column("entry_no")
        hand = stream_in.select(pl.when(pl.col("entry_no").is_in(short.implode()))
                                .then("cap").otherwise(0).alias("hand")).to_series()
        if skips.height:
            mixed, pieces = _pass_overs(stream_in, out, balance, skips)
            hand = mixed.fill_null(hand)
        if hand.equals(stream_in.get_column("hand"), check_names=False):
            break
        stream_in = stream_in.with_columns(hand=hand)
        out = stream_out.join(_phase_one(stream_in, stream_out), on="entry_no", how="left",
                              maintain_order="left")
    else:
        raise NotSupportedYet([Problem(
            "transactions", None, "applies_to", None,
            f"not supported yet: sales returns into negative inventory (R45) did not settle in "
            f"{MAX_ROUNDS} rounds")])
    returns = stream_in.filter(pl.col("hand") > 0).with_columns(cap="hand")
    regular = stream_in.with_columns(cap=pl.col("cap") - pl.col("hand")).filter(pl.col("cap") > 0)
    demand = out.with_columns(units=pl.col("passed")).drop("passed")
    if pieces is not None and pieces.height:
        demand = pl.concat([demand.join(pieces, on="key_id", how="anti"),
                            pieces.select(demand.columns)]).sort("key_id", maintain_order=True)
    return returns.drop("candidate", "hand"), regular.drop("candidate", "hand"), demand
