"""``rq cron`` configuration for the network console: its per-group figures every 10 minutes
(:func:`timebank.provisioning.overview.refresh_figures`), through :func:`timebank.tasks.run_job`.
"""

from rq import cron

from timebank.tasks import run_job

cron.register(
    run_job, "timebank", args=("timebank.provisioning.overview.refresh_figures", (), None),
    cron="*/10 * * * *", name="console-figures", job_timeout=600,
)
