"""The one settings resource every asset, check, schedule and sensor reads (contract §1, §2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import dagster as dg

from pipelines.settings import Settings, load_settings

# The bundled sample company, found from the source tree so `dagster dev` works from any folder.
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
RESOURCE_KEY = "invrec_config"


class InvrecConfig(dg.ConfigurableResource):
    """Where the input folder is and how to run: the CLI's `--data`, `--as-of`, `--on-bad-rows`."""

    data_dir: str = str(SAMPLE_DIR)
    as_of: str | None = None  # ISO date of the inventory valuation (R130); None: R131's default
    on_bad_rows: Literal["fail", "quarantine"] = "fail"

    def data_path(self) -> Path:
        return Path(self.data_dir)

    def as_of_date(self) -> dt.date | None:
        return None if self.as_of is None else dt.date.fromisoformat(self.as_of)

    def settings(self) -> Settings:
        """The company's `settings.toml` with BC's defaults (raises InputError when invalid)."""
        return load_settings(self.data_path())
