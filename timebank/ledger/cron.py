"""``rq cron`` configuration: the nightly ledger check.

Run the scheduler next to an rq worker on the ``timebank`` queue::

    rq cron timebank.ledger.cron --url "$REDIS_URL"
    rq worker timebank --url "$REDIS_URL"

The job goes through :func:`timebank.tasks.run_job`, which builds the app and commits once.
``LEDGER_VERIFY_CRON`` overrides the schedule (default 03:17 every day, server time).
"""

import os

from rq import cron

from timebank.tasks import run_job

LEDGER_VERIFY_CRON = os.environ.get("LEDGER_VERIFY_CRON", "17 3 * * *")

cron.register(
    run_job,
    queue_name="timebank",
    args=("timebank.ledger.jobs.nightly_verify", (), None),
    cron=LEDGER_VERIFY_CRON,
    job_timeout=1800,
    name="ledger-verify",
)
