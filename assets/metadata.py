"""Metadata a finance analyst reads in the UI: row counts, totals, markdown previews."""

from __future__ import annotations

import dagster as dg
import polars as pl

PREVIEW_ROWS = 10
KINDS = {"polars", "parquet"}


def markdown(df: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """The first `rows` rows of `df` as a markdown table (all columns, no dtype row); a `|` in a
    text (a document number, a reason) is escaped, or it would split its cell."""
    df = df.head(rows).with_columns(pl.col(pl.String, pl.Categorical, pl.Enum).cast(pl.String)
                                    .str.replace_all("|", r"\|", literal=True))
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=rows,
        tbl_cols=-1,
        tbl_width_chars=10_000,
        fmt_str_lengths=60,
        float_precision=2,
    ):
        return str(df)


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
