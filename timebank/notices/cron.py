"""``rq cron`` configuration for notices: the daily digest of notices at 06:30 UTC::

    rq cron timebank.notices.cron --url "$REDIS_URL"
"""

from rq import cron

from timebank.tasks import run_job

QUEUE = "timebank"

cron.register(
    run_job, QUEUE, args=("timebank.notices.jobs.send_notice_digests", (), None),
    cron="30 6 * * *", name="notices-digest-daily", job_timeout=1800,
)
