"""FIFO quantity application as an interval overlap (R41, R44): both streams laid on one axis.

Per key, the inbound units (`cap`) and the outbound units (`units`) are cumulated in stream order;
each inbound and each outbound is an interval of that axis, and an application is where an
inbound's interval meets an outbound's. All keys share one coordinate (each key offset by the
span before it), so the cut points of both sides are two sorted arrays and two `searchsorted`
calls.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.rounding import segment_cum_sum


def _global_ends(stream_in: pl.DataFrame, stream_out: pl.DataFrame):
    """Interval ends on one coordinate: key k occupies (offset_k, offset_k + span_k]."""
    spans = (
        pl.concat([stream_in.lazy().group_by("key_id").agg(total=pl.col("cap").sum()),
                   stream_out.lazy().group_by("key_id").agg(total=pl.col("units").sum())])
        .group_by("key_id").agg(span=pl.col("total").max())
        .sort("key_id")
        .with_columns(offset=pl.col("span").cum_sum() - pl.col("span"))
        .select("key_id", "offset")
        .collect()  # lazy: polars' eager group-by is about 2.5 times slower
    )
    in_end = stream_in.join(spans, on="key_id", how="left", maintain_order="left").select(
        pl.col("offset") + segment_cum_sum(pl.col("cap"), "key_id")).to_series().to_numpy()
    out_end = stream_out.join(spans, on="key_id", how="left", maintain_order="left").select(
        pl.col("offset") + segment_cum_sum(pl.col("units"), "key_id")).to_series().to_numpy()
    return in_end, out_end


def overlap(stream_in: pl.DataFrame, stream_out: pl.DataFrame) -> pl.DataFrame:
    """Cut both sides at every interval end; each segment lies in one inbound and one outbound."""
    if stream_in.height == 0 or stream_out.height == 0:
        return pl.DataFrame(schema={"inbound": pl.Int64, "outbound": pl.Int64, "units": pl.Int64})
    in_end, out_end = _global_ends(stream_in, stream_out)
    in_start = in_end - stream_in.get_column("cap").to_numpy()
    out_start = out_end - stream_out.get_column("units").to_numpy()
    # both arrays are sorted: a stable sort of their concatenation is a linear merge
    cuts = np.sort(np.concatenate([in_end, out_end]), kind="stable")
    cuts = cuts[np.concatenate([[True], cuts[1:] != cuts[:-1]])]
    starts = np.concatenate([[0], cuts[:-1]])
    i = np.searchsorted(in_end, cuts, side="left")
    o = np.searchsorted(out_end, cuts, side="left")
    ic, oc = np.minimum(i, len(in_end) - 1), np.minimum(o, len(out_end) - 1)
    valid = (i < len(in_end)) & (o < len(out_end))
    valid &= (in_start[ic] < cuts) & (out_start[oc] < cuts)
    i, o, length = i[valid], o[valid], (cuts - starts)[valid]
    # consecutive segments of the same pair form one application
    first = np.concatenate([[True], (i[1:] != i[:-1]) | (o[1:] != o[:-1])]) if len(i) else i
    run = np.flatnonzero(first)
    return pl.DataFrame({
        "inbound": stream_in.get_column("entry_no").to_numpy()[i[run]],
        "outbound": stream_out.get_column("entry_no").to_numpy()[o[run]],
        "units": np.add.reduceat(length, run) if len(run) else length,
    }, schema={"inbound": pl.Int64, "outbound": pl.Int64, "units": pl.Int64})
