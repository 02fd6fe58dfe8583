"""Nightly run of the whole graph, after the day's postings (BC's usual night-time batch).

The job includes every asset check. The checks of what the product guarantees (the schemas, the
G/L balanced per value entry, every difference explained) are blocking, and so is
`reconciliation_within_tolerance`: when the company sets `reconciliation_severity = "error"` a
difference above `reconciliation_tolerance` fails the nightly run (red in the UI's run list),
not only the check.
"""

from __future__ import annotations

import dagster as dg

from assets.jobs import invrec_job

NIGHTLY_CRON = "0 2 * * *"

nightly_schedule = dg.ScheduleDefinition(
    name="invrec_nightly",
    job=invrec_job,
    cron_schedule=NIGHTLY_CRON,
    tags={"invrec/trigger": "nightly"},
    description="Adjust cost, post to the G/L, value and reconcile every night at 02:00 (UTC: "
                "the instance's default; set execution_timezone for local time). The run fails "
                "when a guarantee check fails, or the reconciliation check fails at ERROR "
                "(reconciliation_severity = \"error\" in settings.toml and a difference above "
                "reconciliation_tolerance). Switched on in the UI (stopped by default).",
)
