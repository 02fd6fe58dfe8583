"""The one settings resource every asset, check, schedule and sensor reads (contract §1, §2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field, field_validator

from pipelines.settings import Settings, load_settings

# The bundled sample company, found from the source tree so `dagster dev` works from any folder.
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
RESOURCE_KEY = "invrec_config"


class InvrecConfig(dg.ConfigurableResource):
    """Where the input folder is and how to run: the CLI's `--data`, `--as-of`, `--on-bad-rows`.
    The descriptions are what the launchpad shows; a date that is not ISO fails the run at its
    start, before anything is read or costed."""

    data_dir: str = Field(default=str(SAMPLE_DIR), description=(
        "The input folder: the contract's CSV or Parquet tables and settings.toml (default: "
        "the bundled sample company)."))
    as_of: str | None = Field(default=None, description=(
        "Inventory valuation date, YYYY-MM-DD (R130); empty: the last posting date of any "
        "value entry (R131)."))
    on_bad_rows: Literal["fail", "quarantine"] = Field(default="fail", description=(
        "fail: stop on any invalid row, writing nothing; quarantine: set bad transactions "
        "aside into rejected_transactions and cost the rest."))

    @field_validator("as_of")
    @classmethod
    def _iso_date(cls, as_of: str | None) -> str | None:
        if as_of is not None:
            try:
                dt.date.fromisoformat(as_of)
            except ValueError:
                raise ValueError(f"as_of must be an ISO date (YYYY-MM-DD), not {as_of!r}") from None
        return as_of

    def data_path(self) -> Path:
        return Path(self.data_dir)

    def as_of_date(self) -> dt.date | None:
        return None if self.as_of is None else dt.date.fromisoformat(self.as_of)

    def settings(self) -> Settings:
        """The company's `settings.toml` with BC's defaults (raises InputError when invalid)."""
        return load_settings(self.data_path())
