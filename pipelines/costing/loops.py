"""R44a: no cost loops. An inbound entry does not close an open outbound its own cost depends on.

Only a cost-receiving inbound can depend on an outbound: a to-leg on its from-leg, a return with
applies_to on its sale, and an outbound on the inbounds applied to it. So a loop needs a to-leg
(returns close nothing, R45) applied to an outbound posted before it. Those candidates are rare;
their cost sources are followed backwards one level per step (the transfer and return depth), all
candidates at once.

BC passes over such an outbound: it stays open for a later inbound, and the to-leg closes the
next candidates. What it has beyond them goes on hand, like a return posted into negative
inventory (R45), served to later outbounds first, while the passed-over outbounds wait for the
next inbound (`returns._pass_overs`; on LIFO keys latest first, `lifo_passes.py`; on keys whose
outbounds are closed by posting date a passing to-leg closes nothing, and `check_pass_overs`
refuses it where it should close another). A to-leg
all reserved by fixed applications makes no application to show a pass-over; `wholly_passing`
names the ones that pass over every outbound open at their posting, for the capacity check.
"""

from __future__ import annotations

import polars as pl

from pipelines.errors import NotSupportedYet, Problem
from pipelines.frames import where

MAX_DEPTH = 1_000

_PAIR = ["inbound", "outbound"]


def cost_loops(entries: pl.DataFrame, applications: pl.DataFrame,
               pairs: pl.DataFrame | None = None) -> pl.DataFrame:
    """The (inbound, outbound) pairs where the inbound's cost depends on the outbound when the
    inbound is posted: only applications made before it (by the later of their two entries)
    carry cost to it, as in BC, where a later closing cannot change a decision already posted.

    `pairs` defaults to the applications a cost-receiving inbound made when it was posted (it
    closed an open outbound): the cost loops of R44a.
    """
    receiving = where(entries, pl.col("receiving"), node="entry_no", source="source_entry")
    if pairs is None:
        pairs = applications.filter(~pl.col("at_posting")).select(_PAIR)
    frontier = pairs.join(receiving.rename({"node": "inbound"}), on="inbound").select(
        *_PAIR, node="source")
    pieces = applications.select(node="outbound", next="inbound",
                                 made=pl.max_horizontal("inbound", "outbound"))
    found, seen = [], frontier
    for _ in range(MAX_DEPTH):
        if frontier.height == 0:
            return pl.concat([pairs.clear(), *found]).unique().sort(_PAIR)
        found.append(frontier.filter(pl.col("node") == pl.col("outbound")).select(_PAIR))
        # outbound -> the inbounds applied to it -> the sources of the cost-receiving ones
        frontier = (
            frontier.join(pieces, on="node").filter(pl.col("made") < pl.col("inbound"))
            .select(*_PAIR, node="next")
            .join(receiving, on="node").select(*_PAIR, node="source")
            .join(seen, on=[*_PAIR, "node"], how="anti").unique()
        )
        seen = pl.concat([seen, frontier])
    raise NotSupportedYet([Problem("transactions", None, None, None,
                                   f"not supported yet: cost sources deeper than {MAX_DEPTH}")])


def check_pass_overs(entries: pl.DataFrame, applications: pl.DataFrame,
                     passing: pl.DataFrame, stuck: pl.DataFrame) -> None:
    """R44a as applied: a passing to-leg keeps units only when every outbound still open after it
    depends on it.

    A to-leg that keeps units on hand while an open outbound it does not depend on waits (keys
    applied by posting date, where a passing to-leg closes nothing) is refused as not
    supported yet; so is any loop still there after the pass-overs (`stuck`: a to-leg still
    closing an outbound it passes over, or levels that did not settle). Which outbounds are open
    after it is read off the applications as given.
    """
    if passing.height == 0 and stuck.height == 0:
        return
    info = entries.select("entry_no", "key_id", "transaction_no", "units")
    closing = (applications.join(passing, on="inbound", how="semi")
               .filter(pl.col("outbound") < pl.col("inbound"))
               .group_by("inbound").agg(closed=pl.col("units").sum()))
    to_legs = passing.join(info.rename({"entry_no": "inbound"}), on="inbound").join(
        closing, on="inbound", how="left").filter(
        pl.col("units") > pl.col("closed").fill_null(0)).drop("units", "closed")
    open_then = _open_outbounds(entries, applications, to_legs, after=True)
    depends = cost_loops(entries, applications, open_then.select(_PAIR))
    problems = open_then.join(depends, on=_PAIR, how="anti").select(
        "transaction_no", reason=pl.lit("it would pass over one open outbound and close another"))
    problems = pl.concat([
        problems,
        stuck.join(info.rename({"entry_no": "inbound"}), on="inbound").select(
            "transaction_no", reason=pl.lit("and still closes it")),
    ]).unique("transaction_no", keep="first").sort("transaction_no")
    if problems.height:
        raise NotSupportedYet([
            Problem("transactions", f"transaction_no={row['transaction_no']}", None, None,
                    "not supported yet: its inbound entry passes over an open outbound its cost "
                    f"depends on (R44a) {row['reason']}")
            for row in problems.head(20).iter_rows(named=True)
        ])


def wholly_passing(entries: pl.DataFrame, applications: pl.DataFrame,
                   to_legs: pl.Series) -> pl.Series:
    """R44a: the to-legs of `to_legs` (entry numbers) whose key has open outbounds when they are
    posted, every one of which their cost depends on. They close nothing, whatever units they
    have: a to-leg all reserved by later fixed applications makes no application to show it."""
    legs = where(entries, pl.col("entry_no").is_in(to_legs.implode()), inbound="entry_no",
                 key_id="key_id")
    open_then = _open_outbounds(entries, applications, legs, after=False)
    free = open_then.join(cost_loops(entries, applications, open_then.select(_PAIR)), on=_PAIR,
                          how="anti")
    return open_then.select("inbound").unique().join(free, on="inbound", how="anti").get_column(
        "inbound")


def _open_outbounds(entries: pl.DataFrame, applications: pl.DataFrame, to_legs: pl.DataFrame,
                    *, after: bool) -> pl.DataFrame:
    """`to_legs` (inbound, key_id, ...) with each outbound of the key (without applies_to)
    posted before it and open when it is posted, or with `after` still open once it has closed
    what it closes."""
    outbounds = where(
        entries, ~pl.col("inbound") & pl.col("applies_to_entry").is_null()
        & pl.col("key_id").is_in(to_legs.get_column("key_id").implode()), outbound="entry_no",
        key_id="key_id", units="units")
    candidates = to_legs.join(outbounds, on="key_id").filter(
        pl.col("outbound") < pl.col("inbound"))
    made = pl.col("from") <= pl.col("inbound") if after else pl.col("from") < pl.col("inbound")
    applied = candidates.select(_PAIR).join(
        applications.select(pl.col("inbound").alias("from"), "outbound", "units"), on="outbound"
    ).filter(made).group_by(_PAIR).agg(applied=pl.col("units").sum())
    return candidates.join(applied, on=_PAIR, how="left").filter(
        pl.col("applied").fill_null(0) < pl.col("units"))
