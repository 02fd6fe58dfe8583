"""Metadata a finance analyst reads in the UI: row counts, totals, markdown previews."""

from __future__ import annotations

import dagster as dg
import polars as pl

PREVIEW_ROWS = 10
TEXT_CHARS = 60  # longer texts are cut in a preview
KINDS = {"polars", "parquet"}


def markdown(df: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """The first `rows` rows of `df` as a markdown table (all columns, no dtype row), as
    polars prints one: amounts to the cent, texts cut at 60 characters, a `|` in a text (a
    document number, a reason) escaped, or it would split its cell.

    Built here, not with `pl.Config`: polars keeps its settings in the process environment,
    and changing it while `invrec run` writes a table on its writer thread crashes the
    process (assets/io_manager.py `WritesBehind`)."""
    head = df.head(rows)
    cells = [[_cell(value) for value in head.get_column(name).to_list()]
             for name in head.columns]
    widths = [max([len(name), *map(len, column)])
              for name, column in zip(head.columns, cells, strict=True)]
    lines = [_row(head.columns, widths), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [_row(row, widths) for row in zip(*cells, strict=True)]
    return "\n".join(lines)


def _row(values, widths: list[int]) -> str:
    return "|" + "|".join(f" {v:<{w}} " for v, w in zip(values, widths, strict=True)) + "|"


def _cell(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "NaN" if value != value else f"{value:.2f}"
    if isinstance(value, str):
        value = value.replace("|", r"\|")
        return value if len(value) <= TEXT_CHARS else value[:TEXT_CHARS] + "…"
    return str(value)


def preview(df: pl.DataFrame, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown(df, rows) if df.height else "_no rows_")


def table_metadata(df: pl.DataFrame, **extra) -> dict:
    """Row count, preview and any extra figures, for a MaterializeResult/Output."""
    return {"dagster/row_count": df.height, "preview": preview(df), **extra}


def total(df: pl.DataFrame, column: str) -> float:
    """Column sum rounded to the cent for display (0.0 on an empty frame)."""
    return round(float(df[column].sum() or 0.0), 2) if df.height else 0.0


BAR_WIDTH = 30


def bars(values: pl.Expr, width: int = BAR_WIDTH) -> pl.Expr:
    """A text bar per row, its length proportional to |value| against the column's largest: a
    plot that any markdown view shows (Dagster plots only numeric metadata across runs)."""
    top = values.abs().max()
    n = pl.when(top > 0).then((values.abs() / top * width).ceil()).otherwise(0).cast(pl.Int64)
    return pl.lit("█" * width).str.slice(0, n)
