"""A small Parquet IO manager on dagster's UPathIOManager: `<base_dir>/<asset_key>.parquet`.

dagster-polars does not work with polars 2.x (design.md), so this is ours: one polars DataFrame per
asset, written and read whole.
"""

from __future__ import annotations

import dagster as dg
import polars as pl
from upath import UPath

DEFAULT_BASE_DIR = "out"


class PolarsParquetIOManager(dg.UPathIOManager):
    """Writes each asset's DataFrame to `<base_path>/<asset key path>.parquet`."""

    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a polars DataFrame, "
                            f"got {type(obj).__name__}")
        path.parent.mkdir(parents=True, exist_ok=True)
        obj.write_parquet(str(path))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pl.DataFrame:
        # one chunk per column: gathers across a file's many row-group chunks are several
        # times slower (measured 9.2 s against 1.1 s for 27M rows of three columns)
        return pl.read_parquet(str(path)).rechunk()


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Configurable factory: `base_dir` is the folder holding one Parquet file per asset."""

    base_dir: str = DEFAULT_BASE_DIR

    def create_io_manager(self, context) -> PolarsParquetIOManager:
        return PolarsParquetIOManager(base_path=UPath(self.base_dir))
