"""Posting dates of entries made by cost adjustment (R110, R111)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.settings import Settings


def first_allowed_date(inventory_periods: pl.DataFrame, settings: Settings) -> dt.date | None:
    """R110: the later of allow_posting_from and the day after the last closed period's end.

    Closed periods are taken as a prefix of time: a gap (open before closed) counts as closed.
    """
    candidates = []
    if settings.allow_posting_from is not None:
        candidates.append(settings.allow_posting_from)
    if inventory_periods.height:
        last_closed = inventory_periods.filter(pl.col("closed")).get_column("ending_date").max()
        if last_closed is not None:
            candidates.append(last_closed + dt.timedelta(days=1))
    return max(candidates) if candidates else None


def move_to_allowed(date: pl.Expr, first_allowed: dt.date | None) -> pl.Expr:
    """R111: keep an allowed date, move a disallowed one to the first allowed date."""
    if first_allowed is None:
        return date
    return pl.max_horizontal(date, pl.lit(first_allowed, dtype=pl.Date))
