"""Schema checks shared by the domain modules: each output table against its model in `schemas/`.

A schema check is a spec of the op that computes its table and is evaluated there, on the frame
in memory: a stand-alone check would read the table back first (at ten million transactions 8 s
for the value entries, 7 s for the G/L entries, per check).
"""

from __future__ import annotations

import dagster as dg
import pandera.errors
import pandera.polars as pa
import polars as pl

from assets.metadata import markdown
from schemas.base import validate

MAX_FAILURES_SHOWN = 20
# said on every check evaluated in its table's op, whose page offers to execute it alone: Dagster
# refuses that for a check that is not a step of its own
IN_OP = (" Evaluated by the step that computes the table, on the frame in memory: to run it "
         "again, materialize the asset.")


def schema_spec(asset: str, model: type[pa.DataFrameModel]) -> dg.AssetCheckSpec:
    """The check `<asset>_schema`: `asset` matches its Pandera model (schema_result)."""
    return dg.AssetCheckSpec(
        f"{asset}_schema", asset=asset, blocking=True,  # a table off its schema goes no further
        description=f"{asset} matches schemas {model.__name__}: columns, types and value "
                    f"rules.{IN_OP}",
    )


def schema_result(frame: pl.DataFrame, model: type[pa.DataFrameModel],
                  asset: str | None = None) -> dg.AssetCheckResult:
    """Validate and report every failure case (the first few as a markdown table); `asset`
    names the check of `schema_spec` when the result is yielded by its asset's op."""
    target = {} if asset is None else {"asset_key": asset, "check_name": f"{asset}_schema"}
    meta = {"model": model.__name__, "rows": frame.height}
    try:
        validate(frame, model)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        if not isinstance(cases, pl.DataFrame):  # pandera may hand back another frame type
            cases = pl.DataFrame({"failure": [str(exc)]})
        cases = cases.select(pl.all().cast(pl.String))
        return dg.AssetCheckResult(
            passed=False, **target,
            metadata={**meta, "failures": cases.height,
                      "failure_cases": dg.MetadataValue.md(markdown(cases, MAX_FAILURES_SHOWN))},
        )
    except pandera.errors.SchemaError as exc:
        return dg.AssetCheckResult(passed=False, **target,
                                   metadata={**meta, "failures": 1, "failure": str(exc)})
    return dg.AssetCheckResult(passed=True, **target, metadata={**meta, "failures": 0})
