"""``rq cron`` configuration: the nightly ledger check and the transfer-mail sweep.

Run the scheduler next to an rq worker on the ``timebank`` queue::

    rq cron timebank.ledger.cron --url "$REDIS_URL"
    rq worker timebank --url "$REDIS_URL"

The job goes through :func:`timebank.tasks.run_job`, which builds the app and commits once.
``LEDGER_VERIFY_CRON`` overrides the schedule (default 03:17 every day, server time). The sweep
delivers transfer notices a lost delivery job left behind (every minute; normally none).
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

cron.register(
    run_job,
    queue_name="timebank",
    args=("timebank.ledger.notify.deliver_notices", (), None),
    cron="* * * * *",
    job_timeout=600,
    name="ledger-notices",
)
