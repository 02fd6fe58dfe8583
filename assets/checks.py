"""Asset check factories shared by the domain modules: schema validity against `schemas/`."""

from __future__ import annotations

import dagster as dg
import pandera.errors
import pandera.polars as pa
import polars as pl

from assets.metadata import markdown
from schemas.base import validate

MAX_FAILURES_SHOWN = 20


def schema_check(asset: str, model: type[pa.DataFrameModel]) -> dg.AssetChecksDefinition:
    """A check that `asset` matches its Pandera model: names, types and values (SCHEMA_AND_DATA)."""

    @dg.asset_check(
        asset=asset,
        name=f"{asset}_schema",
        description=f"{asset} matches schemas {model.__name__}: columns, types and value rules.",
    )
    def _check(frame: pl.DataFrame) -> dg.AssetCheckResult:
        return schema_result(frame, model)

    return _check


def schema_result(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> dg.AssetCheckResult:
    """Validate and report every failure case (the first few as a markdown table)."""
    meta = {"model": model.__name__, "rows": frame.height}
    try:
        validate(frame, model)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        if not isinstance(cases, pl.DataFrame):  # pandera may hand back another frame type
            cases = pl.DataFrame({"failure": [str(exc)]})
        cases = cases.select(pl.all().cast(pl.String))
        return dg.AssetCheckResult(
            passed=False,
            metadata={**meta, "failures": cases.height,
                      "failure_cases": dg.MetadataValue.md(markdown(cases, MAX_FAILURES_SHOWN))},
        )
    except pandera.errors.SchemaError as exc:
        return dg.AssetCheckResult(passed=False, metadata={**meta, "failures": 1,
                                                           "failure": str(exc)})
    return dg.AssetCheckResult(passed=True, metadata={**meta, "failures": 0})
