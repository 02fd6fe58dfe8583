"""The one job: the whole asset graph with its checks."""

from __future__ import annotations

import dagster as dg

from assets.ingest import INPUT_FOLDER

JOB_NAME = "invrec_job"

# The input folder (an observable source) is observed by the same run that reads it: the
# materializations then record the folder's version they read, and the UI shows them stale only
# when a later observation finds the folder changed (without it they recorded none, and any
# observation marked them stale).
invrec_job = dg.define_asset_job(
    JOB_NAME,
    selection=dg.AssetSelection.all() | dg.AssetSelection.assets(INPUT_FOLDER),
    description="Observe and read the input folder, cost, post to the G/L, value and reconcile "
                "inventory.",
)
