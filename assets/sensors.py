"""A sensor that launches a run when the input folder's files change (mtime and size cursor)."""

from __future__ import annotations

import json

import dagster as dg

from assets.ingest import INPUT_FOLDER, folder_observation, folder_state, folder_version
from assets.jobs import invrec_job
from assets.resources import InvrecConfig

SENSOR_NAME = "invrec_input_folder_sensor"


def read_cursor(cursor: str | None) -> tuple[dict[str, list[int]], int]:
    """(folder state, runs requested so far) from the sensor's cursor; a cursor of an earlier
    version (the state alone) counts no runs."""
    saved = json.loads(cursor) if cursor else {}
    if set(saved) == {"state", "runs"}:
        return saved["state"], saved["runs"]
    return saved, 0


@dg.sensor(
    name=SENSOR_NAME,
    job=invrec_job,
    minimum_interval_seconds=60,
    description="Runs the whole graph when an input table or settings.toml in the input folder is "
                "added, removed or changed (also back to an earlier state, as when a folder is "
                "restored), and observes the input folder so the UI shows what the run updates.",
)
def input_folder_sensor(context: dg.SensorEvaluationContext, invrec_config: InvrecConfig):
    data_dir = invrec_config.data_path()
    state = folder_state(data_dir)
    last, runs = read_cursor(context.cursor)
    if context.cursor and state == last:
        return dg.SkipReason(f"no change in {data_dir}")
    if not state:
        return dg.SensorResult(skip_reason=f"no input files in {data_dir}",
                               cursor=json.dumps({"state": state, "runs": runs}))
    # the run key counts the runs, so a folder back in an earlier state runs again (a key of
    # the state alone would be one Dagster already launched, and skipped)
    runs += 1
    version = folder_version(state)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"{runs}-{version}",
                                    tags={"invrec/input_state": version})],
        cursor=json.dumps({"state": state, "runs": runs}, sort_keys=True),
        asset_events=[dg.AssetObservation(
            INPUT_FOLDER, metadata=folder_observation(data_dir, state)["metadata"],
            tags={"dagster/data_version": version})],
    )
