"""Row selections on wide frames."""

from __future__ import annotations

import polars as pl


def where(frame: pl.DataFrame, condition: pl.Expr, *columns, **named) -> pl.DataFrame:
    """The rows of `frame` meeting `condition`, with only the given columns.

    The same as `frame.filter(condition).select(...)`, but with the columns chosen first: an
    eager filter copies every column, and the item ledger entries carry about thirty (0.6 s a
    filter at ten million entries, against 0.04 s for a few columns; several seconds when the
    frame is in many chunks, as read from a Parquet file)."""
    return frame.select(*columns, **named).filter(frame.select(condition).to_series())
