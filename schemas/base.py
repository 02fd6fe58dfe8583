"""Helpers shared by every schema: the column list, an empty frame, validation with data checks."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context


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
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        return model.validate(df, lazy=True)
