"""``rq cron`` configuration for scheduled money: every hour at minute 7 (UTC), run what is
due — standing orders, membership fees, demurrage (:func:`timebank.schedules.jobs.run_scheduled`).

Hourly, so each group's own midnight (its time zone) is reached within the hour; a run that
already happened for a period does nothing, so running more often is harmless.
``SCHEDULES_CRON`` overrides the schedule.
"""

import os

from rq import cron

from timebank.tasks import run_job

SCHEDULES_CRON = os.environ.get("SCHEDULES_CRON", "7 * * * *")

cron.register(
    run_job, "timebank", args=("timebank.schedules.jobs.run_scheduled", (), None),
    cron=SCHEDULES_CRON, name="schedules-run", job_timeout=3600,
)
