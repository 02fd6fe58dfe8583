"""The code location: assembles the domains' assets, checks, resources, job, schedule and sensor."""

from __future__ import annotations

import os
from collections import Counter

import dagster as dg

from assets import costing, gl, ingest, reconciliation, valuation
from assets.io_manager import DEFAULT_BASE_DIR, ParquetIOManager
from assets.jobs import JOB_NAME, invrec_job
from assets.resources import RESOURCE_KEY, SAMPLE_DIR, InvrecConfig
from assets.schedules import nightly_schedule
from assets.sensors import input_folder_sensor
from assets.valuation import VALUATION_REPORT
from schemas.base import code_columns

DOMAINS = [ingest, costing, gl, valuation, reconciliation]
ALL_ASSETS = [a for d in DOMAINS for a in d.ASSETS]
ALL_CHECKS = [c for d in DOMAINS for c in d.CHECKS]


def loads(definitions: list) -> dict[str, int]:
    """How many ops of a job made of `definitions` load each asset: the IO manager hands the
    frame over until then."""
    return dict(Counter(key.to_user_string() for d in definitions
                        for key in d.keys_by_input_name.values()))


LOADS = loads([*ALL_ASSETS, *ALL_CHECKS])
# the ledger tables' Code columns (held as Categorical), for files that do not name them
CODES = {key: code_columns(model) for schemas in (costing.SCHEMAS, gl.SCHEMAS)
         for key, model in schemas.items() if code_columns(model)}
# `invrec run` writes the contract's tables only, so it leaves out what is none of them and
# nothing of them reads: the monthly report and its check (at 10M transactions, 6.6 s)
_REPORT = dg.AssetKey(VALUATION_REPORT)
CLI_ASSETS = [a for a in ALL_ASSETS if _REPORT not in a.keys]
CLI_CHECKS = [c for c in ALL_CHECKS if all(key.asset_key != _REPORT for key in c.check_keys)]


def resources(
    data_dir: str | None = None, out_dir: str | None = None, **config
) -> dict[str, object]:
    """The resources of a run: input folder settings and the Parquet IO manager's folder.

    Defaults come from INVREC_DATA_DIR / INVREC_OUT_DIR, else the bundled sample and `out/`.
    """
    return {
        RESOURCE_KEY: InvrecConfig(
            data_dir=data_dir or os.environ.get("INVREC_DATA_DIR", str(SAMPLE_DIR)), **config
        ),
        "io_manager": ParquetIOManager(
            base_dir=out_dir or os.environ.get("INVREC_OUT_DIR", DEFAULT_BASE_DIR),
            hand_over=LOADS, codes=CODES,
        ),
    }


defs = dg.Definitions(
    assets=[*ingest.SOURCES, *ALL_ASSETS],
    asset_checks=ALL_CHECKS,
    resources=resources(),
    jobs=[invrec_job],
    schedules=[nightly_schedule],
    sensors=[input_folder_sensor],
    executor=dg.in_process_executor,
)


def cli_job() -> dg.JobDefinition:
    """The job `invrec run` executes: the same graph without the monthly report (CLI_ASSETS),
    its folders given as run config.

    Run through `dg.execute_job` (this function is its reconstructable target), because
    `materialize` keeps every step's output in memory until the run ends: at ten million
    transactions that is every table at once (measured: killed above 22 GB)."""
    return dg.Definitions(
        assets=[*ingest.SOURCES, *CLI_ASSETS], asset_checks=CLI_CHECKS, jobs=[invrec_job],
        resources={RESOURCE_KEY: InvrecConfig.configure_at_launch(),
                   "io_manager": ParquetIOManager.configure_at_launch(
                       hand_over=loads([*CLI_ASSETS, *CLI_CHECKS]), codes=CODES)},
        executor=dg.in_process_executor,
    ).resolve_job_def(JOB_NAME)
