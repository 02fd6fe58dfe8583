"""Helpers shared by every schema: the column list, an empty frame, validation with data checks."""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Sequence

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context

# BC's Code fields of few distinct values (items, locations, variants, posting groups, entry
# types, G/L accounts) are held as Categorical in the ledger tables: 4 bytes a row where a text
# is a 16-byte view (at 10M transactions the peak 7.8 GB instead of 10.1 GB: docs/benchmarks.md,
# run BN). Files hold them as text, the contract's type (`file_metadata`, `as_held`).
Code = pl.Categorical
CODES_KEY = "invrec:categorical"  # the file metadata naming the columns held as Categorical
ARROW_SCHEMA_KEY = "ARROW:schema"  # the column types Arrow readers (polars, pyarrow) give a file


def file_metadata(frame: pl.DataFrame) -> dict[str, str]:
    """The metadata that has a Parquet file of `frame` hold its Categorical columns as text
    (empty when there are none): it names them, for `as_held`, and gives the file the Arrow
    schema of `as_text(frame)`, which is what readers go by. Parquet stores a Categorical
    column as a dictionary of its texts and each row's number in it, the way it stores text of
    few distinct values, so the column is text once the schema says so; writing the numbers
    as they are saves the lookup of every row's text (at 10M transactions 1.2 s of the value
    entries' 5 s, docs/benchmarks.md, run CS)."""
    codes = [name for name, dtype in frame.schema.items() if dtype == pl.Categorical]
    if not codes:
        return {}
    empty_file = io.BytesIO()
    as_text(frame.clear()).collect().write_parquet(empty_file)
    empty_file.seek(0)
    return {CODES_KEY: json.dumps(codes),
            ARROW_SCHEMA_KEY: pl.read_parquet_metadata(empty_file)[ARROW_SCHEMA_KEY]}


def as_text(frame: pl.DataFrame) -> pl.LazyFrame:
    """`frame` with its Categorical columns as text, as a file of it reads back."""
    return frame.lazy().with_columns(pl.col(pl.Categorical).cast(pl.String))


def as_held(frame: pl.DataFrame, metadata: dict[str, str],
            codes: Sequence[str] = ()) -> pl.DataFrame:
    """A frame read from a file written with `file_metadata`: its Categorical columns back. A file
    whose metadata does not name them (written before invrec held them so) gets its text
    columns among `codes` (the table's `code_columns`) cast instead."""
    if CODES_KEY in metadata:
        codes = json.loads(metadata[CODES_KEY])
    else:
        codes = [name for name in codes if frame.schema.get(name) == pl.String]
    return frame.with_columns(pl.col(codes).cast(pl.Categorical)) if codes else frame


def code_columns(model: type[pa.DataFrameModel]) -> list[str]:
    """The table's columns held as Categorical (`Code`)."""
    return [name for name, dtype in polars_schema(model).items() if dtype == Code]


def columns(model: type[pa.DataFrameModel]) -> list[str]:
    """The table's columns in contract order: the single place a column list comes from."""
    return list(model.to_schema().columns)


def polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    return {name: col.dtype.type for name, col in model.to_schema().columns.items()}


def empty(model: type[pa.DataFrameModel]) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(model))


def conform(df: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Select the model's columns in order, cast to its types."""
    return df.select(
        pl.col(name).cast(dtype, strict=True) for name, dtype in polars_schema(model).items()
    )


def validate(df: pl.DataFrame | pl.LazyFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Validate names, types *and* values (pandera skips value checks on LazyFrames otherwise)."""
    if isinstance(df, pl.LazyFrame):
        df = df.collect()
    schema, unique = _without_unique(model)
    # pandera proves a unique column by hashing every row (is_duplicated: 14 s for 31M G/L
    # entries); counting distinct values is a scan on the sorted entry numbers. Only a frame
    # with a duplicate (or a wrong column) gets pandera's own check, which names the rows.
    if not unique or not _distinct(df, unique):
        schema = model.to_schema()
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        return schema.validate(df, lazy=True)


@functools.cache
def _without_unique(model: type[pa.DataFrameModel]) -> tuple[pa.DataFrameSchema, tuple[str, ...]]:
    """The model's schema without its per-column uniqueness, and the columns that had it."""
    schema = model.to_schema()
    unique = tuple(name for name, col in schema.columns.items() if col.unique)
    return schema.update_columns({name: {"unique": False} for name in unique}), unique


def _distinct(df: pl.DataFrame, columns: tuple[str, ...]) -> bool:
    """Every value of these columns differs from the others, none is null (and all exist)."""
    if not set(columns) <= set(df.columns):
        return False
    counts = df.select(*(pl.col(c).n_unique() for c in columns),
                       *(pl.col(c).null_count().alias(f"{c}_nulls") for c in columns)).row(0)
    return all(n == df.height for n in counts[:len(columns)]) and not any(counts[len(columns):])
