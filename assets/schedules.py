"""Nightly run of the whole graph, after the day's postings (BC's usual night-time batch)."""

from __future__ import annotations

import dagster as dg

from assets.jobs import invrec_job

NIGHTLY_CRON = "0 2 * * *"

nightly_schedule = dg.ScheduleDefinition(
    name="invrec_nightly",
    job=invrec_job,
    cron_schedule=NIGHTLY_CRON,
    description="Adjust cost, post to the G/L and reconcile every night at 02:00.",
)
