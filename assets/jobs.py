"""The one job: the whole asset graph with its checks."""

from __future__ import annotations

import dagster as dg

JOB_NAME = "invrec_job"

invrec_job = dg.define_asset_job(
    JOB_NAME,
    selection=dg.AssetSelection.all(),
    description="Read the input folder, cost, post to the G/L, value and reconcile inventory.",
)
