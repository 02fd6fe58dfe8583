"""A sensor that launches a run when the input folder's files change (mtime and size cursor)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from assets.jobs import invrec_job
from assets.resources import InvrecConfig
from pipelines.ingest import TABLES
from pipelines.settings import SETTINGS_FILE

SENSOR_NAME = "invrec_input_folder_sensor"
INPUT_FILES = [f"{t}.{ext}" for t in TABLES for ext in ("csv", "parquet")] + [SETTINGS_FILE]


def folder_state(data_dir: Path) -> dict[str, list[int]]:
    """{file name: [mtime_ns, size]} of the input files present (other files are ignored)."""
    state = {}
    for name in INPUT_FILES:
        path = data_dir / name
        if path.is_file():
            st = path.stat()
            state[name] = [st.st_mtime_ns, st.st_size]
    return state


def state_cursor(state: dict[str, list[int]]) -> str:
    return json.dumps(state, sort_keys=True)


@dg.sensor(
    name=SENSOR_NAME,
    job=invrec_job,
    minimum_interval_seconds=60,
    description="Runs the whole graph when an input table or settings.toml in the input folder is "
                "added, removed or changed.",
)
def input_folder_sensor(context: dg.SensorEvaluationContext, invrec_config: InvrecConfig):
    state = folder_state(invrec_config.data_path())
    cursor = state_cursor(state)
    if cursor == context.cursor:
        return dg.SkipReason(f"no change in {invrec_config.data_dir}")
    if not state:
        context.update_cursor(cursor)
        return dg.SkipReason(f"no input files in {invrec_config.data_dir}")
    context.update_cursor(cursor)
    run_key = hashlib.sha256(cursor.encode()).hexdigest()[:16]
    return dg.RunRequest(run_key=run_key, tags={"invrec/input_state": run_key})
