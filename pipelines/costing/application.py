"""Quantity application (R40-R47) as an interval overlap, without a loop over entries.

Per application key, inbound entries in entry order cover the quantity interval
(inbound units before them, after them]; outbound entries likewise on their side. While posting
dates follow entry order, BC's application (R41 oldest open inbound first, R44 an inbound first
closes the oldest open outbounds) matches the k-th outbound unit with the k-th inbound unit, so an
outbound is applied to exactly the inbounds whose intervals overlap its own, by the overlap length.
Fixed applications (R43) are taken out of both sides first.
"""

from __future__ import annotations

import polars as pl

from pipelines.errors import InputError, NotSupportedYet, Problem

APPLICATION_COLUMNS = ["inbound", "outbound", "units", "at_posting"]


def _check_date_order(entries: pl.DataFrame) -> None:
    """The interval overlap equals BC's order only when posting dates follow entry order."""
    stream = entries.filter(pl.col("inbound") | pl.col("applies_to_entry").is_null())
    back_dated = stream.filter(
        pl.col("posting_date") < pl.col("posting_date").cum_max().over(["key_id", "inbound"])
    )
    if back_dated.height:
        raise NotSupportedYet([
            Problem("transactions", f"transaction_no={row['transaction_no']}", "posting_date",
                    str(row["posting_date"]),
                    "not supported yet: an entry back-dated before an earlier-posted entry of the "
                    "same item, location and variant (R41 application by posting date)")
            for row in back_dated.head(20).iter_rows(named=True)
        ])


def _fixed_applications(entries: pl.DataFrame) -> pl.DataFrame:
    """R43: an outbound with applies_to takes its whole quantity from that inbound entry."""
    fixed = entries.filter(~pl.col("inbound") & pl.col("applies_to_entry").is_not_null())
    target = entries.select(pl.col("entry_no").alias("applies_to_entry"),
                            pl.col("key_id").alias("target_key"),
                            pl.col("inbound").alias("target_inbound"))
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


def _overlap(stream_in: pl.DataFrame, stream_out: pl.DataFrame) -> pl.DataFrame:
    """Cut both sides at every interval end; each segment belongs to one inbound and one outbound."""
    cuts = (
        pl.concat([stream_in.select("key_id", pl.col("end").alias("cut")),
                   stream_out.select("key_id", pl.col("end").alias("cut"))])
        .unique()
        .sort("key_id", "cut")
        .with_columns(start=pl.col("cut").shift(1, fill_value=0).over("key_id"))
    )
    right = {"by": "key_id", "strategy": "forward", "check_sortedness": False}
    return (
        cuts.join_asof(stream_in.select("key_id", pl.col("end").alias("cut"),
                                        pl.col("entry_no").alias("inbound")),
                       on="cut", **right)
        .join_asof(stream_out.select("key_id", pl.col("end").alias("cut"),
                                     pl.col("entry_no").alias("outbound")),
                   on="cut", **right)
        .drop_nulls(["inbound", "outbound"])
        .group_by("inbound", "outbound")
        .agg(units=(pl.col("cut") - pl.col("start")).sum())
    )


def _check_fixed_capacity(
    inbounds: pl.DataFrame, stream_out: pl.DataFrame, fixed: pl.DataFrame
) -> None:
    """R43, R160: a fixed application needs that much remaining quantity when it is posted.

    Valid input never lets the automatic application take units a later fixed application needs:
    the first outbound unit beyond an inbound's unreserved part is decided when that outbound or
    the inbound is posted, whichever is later; that must come after the inbound's last fixed
    application, otherwise the automatic application would have taken the reserved units.
    """
    reserved = (
        fixed.group_by("inbound").agg(last_fixed_tx=pl.col("transaction_no").max())
        .join(inbounds.select(pl.col("entry_no").alias("inbound"), "key_id", "end", "cap",
                              "transaction_no"), on="inbound")
    )
    next_out = reserved.sort("key_id", "end").join_asof(
        stream_out.select("key_id", pl.col("end").alias("out_end"),
                          pl.col("transaction_no").alias("next_tx")).sort("key_id", "out_end"),
        left_on="end", right_on="out_end", by="key_id", strategy="forward",
        allow_exact_matches=False, check_sortedness=False,
    )
    bad = next_out.filter(
        (pl.col("cap") < 0)
        | (pl.col("next_tx").is_not_null()
           & (pl.max_horizontal("next_tx", "transaction_no") < pl.col("last_fixed_tx")))
    )
    if bad.height:
        raise InputError([
            Problem("transactions", f"transaction_no={row['last_fixed_tx']}", "applies_to",
                    None,
                    f"R43: the entry it applies to (item ledger entry {row['inbound']}) has less "
                    "remaining quantity than needed when this row is posted")
            for row in bad.sort("last_fixed_tx").iter_rows(named=True)
        ])


def apply_quantities(entries: pl.DataFrame) -> pl.DataFrame:
    """All quantity applications: inbound, outbound, units, at_posting (R51: made when the outbound
    was posted, i.e. the inbound existed then; otherwise made later by the inbound, R44)."""
    _check_date_order(entries)
    fixed = _fixed_applications(entries)
    reserved = fixed.group_by("inbound").agg(reserved=pl.col("units").sum())
    inbounds = (
        entries.filter(pl.col("inbound"))
        .join(reserved, left_on="entry_no", right_on="inbound", how="left", maintain_order="left")
        .with_columns(cap=pl.col("units") - pl.col("reserved").fill_null(0))
        .sort("key_id", "entry_no")
        .with_columns(end=pl.col("cap").clip(lower_bound=0).cum_sum().over("key_id"))
    )
    stream_in = inbounds.filter(pl.col("cap") > 0)
    stream_out = (
        entries.filter(~pl.col("inbound") & pl.col("applies_to_entry").is_null())
        .sort("key_id", "entry_no")
        .with_columns(end=pl.col("units").cum_sum().over("key_id"))
    )
    if fixed.height:
        _check_fixed_capacity(inbounds, stream_out, fixed)
    return (
        pl.concat([_overlap(stream_in, stream_out), fixed.select("inbound", "outbound", "units")])
        .with_columns(at_posting=pl.col("inbound") < pl.col("outbound"))
        .sort("outbound", "inbound")
    )
