"""``rq cron`` configuration for the marketplace (rq >= 2.4, see https://python-rq.org/docs/cron).

Run one scheduler next to the workers::

    rq cron timebank.marketplace.cron --url "$REDIS_URL"

Each entry enqueues :func:`timebank.tasks.run_job` on the ``timebank`` queue, so the job runs
like every other job: in a fresh app context, committing once. Times are UTC.

* digests for members who chose ``daily``: every day at 06:00;
* digests for members who chose ``weekly`` (the default): Mondays at 06:00;
* expire lapsed ads (dropping their possible trades) and remind authors 3 days before: every
  hour at minute 15;
* re-pair every ad of every group (stored possible trades): every day at 03:30.
"""

from rq import cron

from timebank.tasks import run_job

QUEUE = "timebank"

cron.register(
    run_job, QUEUE, args=("timebank.marketplace.digest.send_digests", ("daily",), None),
    cron="0 6 * * *", name="marketplace-digest-daily", job_timeout=1800,
)
cron.register(
    run_job, QUEUE, args=("timebank.marketplace.digest.send_digests", ("weekly",), None),
    cron="0 6 * * 1", name="marketplace-digest-weekly", job_timeout=1800,
)
cron.register(
    run_job, QUEUE, args=("timebank.marketplace.jobs.expire_and_remind", (), None),
    cron="15 * * * *", name="marketplace-expire-ads", job_timeout=600,
)
cron.register(
    run_job, QUEUE, args=("timebank.marketplace.matching.rebuild_all_matches", (), None),
    cron="30 3 * * *", name="marketplace-rebuild-matches", job_timeout=3600,
)
