"""Quantity application (R40-R47) as an interval overlap, without a loop over entries.

Per application key, inbound entries in entry order cover the quantity interval
(inbound units before them, after them]; outbound entries likewise on their side. While posting
dates follow entry order, BC's application (R41 oldest open inbound first, R44 an inbound first
closes the oldest open outbounds) matches the k-th outbound unit with the k-th inbound unit, so an
outbound is applied to exactly the inbounds whose intervals overlap its own, by the overlap length.
Fixed applications (R43) are taken out of both sides first.

Every key gets its own stretch of one global coordinate, so the overlap of all keys is one merge of
two sorted arrays and two `searchsorted` calls (`overlap.py`). LIFO keys (R42) are a stack instead:
`lifo.py`. Back-dated entries (R41, R44 by posting date): `priority.py`.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from pipelines.costing.ledger import QTY_SCALE
from pipelines.costing.lifo import lifo_capacity_violations
from pipelines.costing.lifo_dates import dated_capacity_violations, lifo_by_posting_date
from pipelines.costing.lifo_passes import lifo_pass_over_applications, moved
from pipelines.costing.loops import check_pass_overs, cost_loops, wholly_passing
from pipelines.costing.overlap import overlap
from pipelines.costing.priority import (
    back_dated,
    by_posting_date,
    dated_fixed_violations,
)
from pipelines.costing.returns import split_on_hand_returns
from pipelines.errors import InputError, NotSupportedYet, Problem, keyed_transaction
from pipelines.rounding import segment_cum_sum

# R45: a sales return with applies_to posted while its key has open outbounds closes nothing,
# and neither does a to-leg passing over them (R44a): both go on hand
_ON_HAND_INTO_OPEN = (((pl.col("type") == "sales_return") | pl.col("passes"))
                      & pl.col("receiving") & (pl.col("before") < 0))


def _fixed_applications(entries: pl.DataFrame) -> pl.DataFrame:
    """R43: an outbound with applies_to takes its whole quantity from that inbound entry."""
    fixed = entries.filter(~pl.col("inbound") & pl.col("applies_to_entry").is_not_null())
    target = entries.select(pl.col("entry_no").alias("applies_to_entry"),
                            pl.col("key_id").alias("target_key"),
                            pl.col("inbound").alias("target_inbound"))
    # the named entries only: a join would hash all of the entries for a few
    target = target.filter(pl.col("applies_to_entry").is_in(
        fixed.get_column("applies_to_entry").implode()))
    fixed = fixed.join(target, on="applies_to_entry", how="left", maintain_order="left")
    bad = fixed.filter((pl.col("target_key") != pl.col("key_id")) | ~pl.col("target_inbound"))
    if bad.height:
        raise InputError([
            Problem("transactions", f"transaction_no={row['transaction_no']}", "applies_to",
                    str(row["applies_to"]),
                    "R43: a fixed application must name an inbound entry of the same item, "
                    "location and variant")
            for row in bad.iter_rows(named=True)
        ])
    return fixed.select(
        pl.col("applies_to_entry").alias("inbound"), pl.col("entry_no").alias("outbound"),
        "units", "transaction_no",
    )


def _check_fixed_capacity(flow: pl.DataFrame, lifo: pl.DataFrame, fixed: pl.DataFrame,
                          applications: pl.DataFrame,
                          depends: Callable[[pl.DataFrame], pl.DataFrame],
                          reordered: pl.DataFrame) -> list[Problem]:
    """R43, R160: a fixed application needs that much remaining quantity when it is posted (the
    problems, one per inbound, named by its last fixed application).

    Valid input never lets the automatic application take units a later fixed application needs.
    FIFO order: the first outbound unit beyond an inbound's unreserved part is decided when that
    outbound or the inbound is posted, whichever is later; that must come after the inbound's last
    fixed application, otherwise the automatic application would have taken the reserved units.
    LIFO order: `lifo.lifo_capacity_violations`, on the LIFO stream as applied (`lifo`: with
    the moves of the to-legs passing over, `lifo_passes.py`). `depends` (inbound, outbound
    pairs -> those where the inbound's cost depends on the outbound, R44a) tells a reserved
    to-leg that would pass over the outbound its cost depends on. The `reordered` keys (R41 by
    posting date), and the keys with a return or passing to-leg on hand while outbounds are
    open (R45, R44a: they close nothing, so both sides are open at once): by
    priority, `priority.dated_fixed_violations`, `lifo_dates.dated_capacity_violations`.
    """
    reserved = fixed.group_by("inbound").agg(last_fixed_tx=pl.col("transaction_no").max())
    whole_flow = flow
    lifo_bad = pl.concat([
        lifo_capacity_violations(lifo.join(reordered, on="key_id", how="anti"), reserved)
        .select("inbound", "last_fixed_tx"),
        dated_capacity_violations(lifo.join(reordered, on="key_id", how="semi"), applications,
                                  reserved),
    ])
    flow = flow.lazy().filter(~pl.col("lifo")).select(  # narrow: the wide flow's rows copied
        "key_id", "entry_no", "inbound", "delta", "before", "cap", "units", "transaction_no",
        "posting_date", "type", "receiving", "passes").collect()
    stream_out = flow.filter(~pl.col("inbound"))
    ends = flow.filter(pl.col("inbound")).with_columns(
        end=segment_cum_sum(pl.col("delta"), "key_id"),
        open_r45=_ON_HAND_INTO_OPEN)
    reserved = reserved.join(
        ends.select(pl.col("entry_no").alias("inbound"), "key_id", "end", "cap",
                    "transaction_no"), on="inbound")
    # a key with a return or a passing to-leg on hand while short (R45, R44a): both sides are
    # open at once there, which the posting-date check models (the same order without
    # back-dating). The first such entry of a key is posted at a negative balance; the later
    # ones may not be (the on-hand units count in it), so the whole key goes there.
    on_hand = ends.filter("open_r45").get_column("key_id").unique()
    by_date = pl.col("key_id").is_in(pl.concat([reordered.get_column("key_id"), on_hand])
                                     .implode())
    dated = reserved.filter(by_date)
    dated_bad = dated_fixed_violations(
        flow.filter(pl.col("key_id").is_in(dated.get_column("key_id").implode())), applications,
        dated.select("inbound", "last_fixed_tx"))
    reserved = reserved.filter(~by_date)  # the rest in entry order
    next_out = reserved.sort("key_id", "end").join_asof(
        stream_out.select("key_id", pl.col("units").cum_sum().over("key_id").alias("out_end"),
                          pl.col("transaction_no").alias("next_tx"),
                          pl.col("entry_no").alias("next_out")),
        left_on="end", right_on="out_end", by="key_id", strategy="forward",
        allow_exact_matches=False, check_sortedness=False,
    )
    taken = next_out.filter(
        (pl.col("cap") < 0)
        | (pl.col("next_tx").is_not_null()
           & (pl.max_horizontal("next_tx", "transaction_no") < pl.col("last_fixed_tx"))))
    bad = [lifo_bad, dated_bad, taken.select("inbound", "last_fixed_tx")]
    # R44a: a reserved to-leg would pass over an open outbound its cost depends on (in entry
    # order: the outbound that took its units; by posting date: any earlier one of its key,
    # if it is posted while the key is short) and close another; whether its units then stay
    # for the fixed application is not modelled yet (one passing over all is: `passes`)
    by_date_bad = pl.concat([lifo_bad, dated_bad])
    passing = depends(pl.concat([
        taken.filter(pl.col("next_tx") < pl.col("transaction_no")).select(
            "inbound", outbound="next_out"),
        by_date_bad.join(  # to-legs (R45: not returns)
            whole_flow.filter(pl.col("inbound") & (pl.col("type") == "transfer")
                              & (pl.col("before") < 0))
            .select(inbound="entry_no", key_id="key_id"), on="inbound")
        .join(whole_flow.filter(~pl.col("inbound")).select("key_id", outbound="entry_no"),
              on="key_id")
        .filter(pl.col("outbound") < pl.col("inbound")).select("inbound", "outbound"),
    ]) if by_date_bad.height or taken.height else taken.select(
        "inbound", outbound="next_out").clear())
    if passing.height:
        raise NotSupportedYet([
            Problem("transactions", f"transaction_no={row['last_fixed_tx']}", "applies_to", None,
                    "not supported yet: a fixed application to a to-leg that passes over the "
                    "open outbound its cost depends on (R44a)")
            for row in pl.concat(bad).join(passing, on="inbound", how="semi").unique()
            .sort("last_fixed_tx")
            .head(20).iter_rows(named=True)
        ])
    # named by the transaction applies_to names: entry numbers change when rows are set aside
    bad = pl.concat(bad).join(
        whole_flow.select(inbound="entry_no", applies_to="transaction_no"), on="inbound")
    return [
        Problem("transactions", f"transaction_no={row['last_fixed_tx']}", "applies_to",
                str(row["applies_to"]),
                "R43: the entry it applies to has less remaining quantity than needed when this "
                "row is posted")
        for row in bad.sort("last_fixed_tx").iter_rows(named=True)
    ]


def _check_transfer_stock(entries: pl.DataFrame, applications: pl.DataFrame) -> list[Problem]:
    """R46: a transfer's from-leg must be fully applied when it is posted."""
    legs = entries.filter((pl.col("type") == "transfer") & ~pl.col("inbound"))
    applied = (  # only the from-legs' applications: a few of the millions
        applications.filter(pl.col("at_posting"))
        .join(legs.select(outbound="entry_no"), on="outbound", how="semi")
        .group_by(pl.col("outbound").alias("entry_no")).agg(applied=pl.col("units").sum())
    )
    short = legs.join(applied, on="entry_no", how="left").filter(
        pl.col("applied").fill_null(0) < pl.col("units"))
    return [
        Problem("transactions", f"transaction_no={row['transaction_no']}", "quantity",
                f"{row['units'] / QTY_SCALE:g}",
                f"R46: not enough stock at location {row['location_code']!r} to transfer "
                f"(only {(row['applied'] or 0) / QTY_SCALE:g} on hand)")
        for row in short.sort("transaction_no").iter_rows(named=True)
    ]


MAX_PASS_OVER_LEVELS = 20


def apply_quantities(entries: pl.DataFrame) -> pl.DataFrame:
    """All quantity applications: inbound, outbound, units, at_posting.

    `entries` are sorted by (key_id, entry_no). `at_posting` (R51): the application was made when
    the outbound was posted, i.e. the inbound existed then; otherwise the inbound made it (R44).
    R44a: a to-leg that would close an open outbound its own cost depends on passes over it,
    closing nothing (`loops.py`); a pass-over can make another, so this repeats per level. The
    input is checked on the applications the pass-overs give (they leave stock on hand).
    """
    entries = entries.select(  # what application reads: narrow frames to filter and join
        "entry_no", "key_id", "inbound", "receiving", "units", "transaction_no", "applies_to",
        "applies_to_entry", "source_entry", "type", "posting_date", "costing_method",
        "location_code")
    fixed = _fixed_applications(entries)
    flow = _automatic_stream(entries, fixed)
    skips = pl.DataFrame(schema={"inbound": pl.Int64, "outbound": pl.Int64})
    for _ in range(MAX_PASS_OVER_LEVELS):
        flow = flow.with_columns(passes=pl.col("entry_no").is_in(skips["inbound"].implode()))
        applications, reordered, lifo = _apply(flow, fixed, skips)
        loops = cost_loops(entries, applications)
        stuck = loops.join(skips, on=["inbound", "outbound"], how="semi")
        if stuck.height:
            break
        # a pass-over stays only while the to-leg's cost still depends on the outbound: the
        # applications it changed can take the dependency away
        kept = cost_loops(entries, applications, skips) if skips.height else skips
        settled = pl.concat([kept, loops]).unique().sort("inbound", "outbound")
        if settled.equals(skips):
            break
        skips = settled
    else:
        stuck = loops if loops.height else skips
    passing = skips.select("inbound").unique()
    try:  # a pass-over this model cannot apply (the input would look short of stock)
        check_pass_overs(entries, applications, passing, stuck)
    except NotSupportedYet as refusal:
        # a transfer short of stock (R46) posted before every refused to-leg is the input's
        # own error, one the to-legs cannot have caused: a from-leg takes only stock posted
        # before it. Its open remainder is what makes a later to-leg look like a cost loop.
        first = min(keyed_transaction(p) for p in refusal.problems)
        short = [p for p in _check_transfer_stock(entries, applications)
                 if keyed_transaction(p) < first]
        if short:
            raise InputError(short) from None
        raise
    problems: list[Problem] = []
    if fixed.height:
        # a reserved to-leg posted while its key is short, passing over every outbound open
        # then, closes nothing, even with no unreserved units to show it by an application
        legs = flow.filter(pl.col("inbound") & (pl.col("type") == "transfer")
                           & (pl.col("before") < 0)
                           & pl.col("entry_no").is_in(fixed.get_column("inbound").implode()))
        if legs.height:
            wholly = pl.col("entry_no").is_in(
                wholly_passing(entries, applications, legs.get_column("entry_no")).implode())
            flow = flow.with_columns(passes=pl.col("passes") | wholly)
            lifo = lifo.with_columns(passes=pl.col("passes") | (wholly & ~moved(lifo)))
        problems = _check_fixed_capacity(
            flow, lifo, fixed, applications,
            lambda pairs: cost_loops(entries, applications, pairs), reordered)
    problems += _check_transfer_stock(entries, applications)
    if problems:  # both checks at once: quarantine sets aside the first bad row of each item
        raise InputError(sorted(problems, key=keyed_transaction))
    return applications


def _automatic_stream(entries: pl.DataFrame, fixed: pl.DataFrame) -> pl.DataFrame:
    """`flow`: every inbound with its unreserved units (`delta`, `cap`) and every outbound
    without applies_to, in entry order, with the key's balance `before` each."""
    reserved = fixed.group_by("inbound").agg(reserved=pl.col("units").sum())
    return (  # one plan: the wide frame is copied once, not once per step
        entries.lazy().join(reserved.lazy(), left_on="entry_no", right_on="inbound", how="left",
                            maintain_order="left")
        .filter(pl.col("inbound") | pl.col("applies_to_entry").is_null())
        .with_columns(cap=pl.col("units") - pl.col("reserved").fill_null(0),
                      lifo=pl.col("costing_method") == "LIFO")
        .with_columns(delta=pl.when(pl.col("inbound")).then(pl.col("cap").clip(lower_bound=0))
                      .otherwise(-pl.col("units")))
        .with_columns(before=segment_cum_sum(pl.col("delta"), "key_id") - pl.col("delta"))
        .collect()
    )


def _lifo_flow(flow: pl.DataFrame) -> pl.DataFrame:
    """The LIFO keys' part of the flow, on the columns `lifo.py` and `lifo_dates.py` read (a
    filter of the wide flow would copy every column)."""
    return flow.lazy().filter(pl.col("lifo")).select(
        "entry_no", "key_id", "inbound", "receiving", "units", "transaction_no", "type",
        "posting_date", "cap", "delta", "before", "passes").collect()


def _in_entry_order(skips: pl.DataFrame, inbounds: pl.DataFrame,
                    by_date: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    """The pass-overs of `skips` (inbound, outbound) whose to-leg is among `inbounds` (entry_no,
    key_id) on a key that closes its outbounds in entry order, not among `by_date()` (keys,
    found only when there are pass-overs): elsewhere a passing to-leg closes nothing."""
    if skips.height == 0:
        return skips
    return skips.join(inbounds.select(inbound="entry_no", key_id="key_id"), on="inbound").join(
        by_date(), on="key_id", how="anti").drop("key_id")


def _outbounds_by_date(flow: pl.DataFrame) -> pl.DataFrame:
    """The keys (key_id) of `flow` with a back-dated outbound: there the open outbounds are
    closed by posting date (`priority.py`, `lifo_dates.py`). Where only inbounds are
    back-dated, the open outbounds are closed in entry order, a to-leg passing over included
    (R44a); what it leaves on hand is taken by posting date like any inbound's units."""
    return back_dated(flow).filter(~pl.col("inbound")).select("key_id").unique()


def _apply(flow: pl.DataFrame, fixed: pl.DataFrame,
           skips: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The applications of the automatic stream and the fixed ones, the keys whose
    back-dated entries are applied by posting date (`priority.py`), and the LIFO keys' stream
    as applied (with the moves of `lifo_passes.py`). The to-legs that pass over
    (`passes`, R44a) close the open outbounds they do not depend on (`skips`: the ones they do)
    on keys that close their outbounds in entry order (LIFO: `lifo_passes.py`); on those that
    close them by posting date they close nothing, like the returns of R45."""
    # the FIFO streams on the columns they read: filters of the wide flow would copy all of it
    fifo = flow.lazy().filter(~pl.col("lifo"))
    stream_in = fifo.filter(pl.col("inbound") & (pl.col("cap") > 0)).select(
        "key_id", "entry_no", "cap", "type", "receiving", "passes", "before").collect()
    on_hand, regular, demand = split_on_hand_returns(
        stream_in, fifo.filter(~pl.col("inbound")).select("key_id", "entry_no", "units").collect(),
        _in_entry_order(skips, stream_in, lambda: _outbounds_by_date(flow)))
    automatic = pl.concat([
        overlap(on_hand, demand.filter(pl.col("matched") > 0).with_columns(units="matched")
                .sort("key_id", "entry_no")),  # pieces of a pass-over's key are reordered
        overlap(regular, demand.filter(pl.col("units") > 0)),
    ])
    automatic, reordered = by_posting_date(flow, automatic)
    lifo = _lifo_flow(flow)
    lifo_automatic, lifo_stream = lifo_pass_over_applications(lifo, _in_entry_order(
        skips, lifo.filter("inbound"), lambda: _outbounds_by_date(lifo)))
    lifo_automatic, lifo_reordered = lifo_by_posting_date(lifo, lifo_automatic, lifo_stream)
    return pl.concat([
        automatic,
        lifo_automatic,
        fixed.select("inbound", "outbound", "units"),
    ]).with_columns(at_posting=pl.col("inbound") < pl.col("outbound")), pl.concat(
        [reordered, lifo_reordered]), lifo_stream
