"""The rq worker the deployment runs (``rq worker --worker-class timebank.tasks.worker.Worker``).

rq forks a work horse for each job, and a job needs the app. Built in the horse, the app cost
every job ~3 s of CPU here (importing it ~1.1 s, :func:`timebank.create_app` ~1.8 s): more than
almost any job's own work, so a worker ran about one job every 3 s. This worker builds the app
once, in the process that forks, before its first job; each horse inherits it, and
:func:`timebank.tasks.run_job` uses it. Building the app opens no connection (the pool fills on
first use, in the horse), so no horse shares a socket with another: ``tests/test_server.py``
builds it against a database that does not exist.
"""

from rq import Worker as RQWorker


class Worker(RQWorker):
    """rq's forking worker, with the app built once before any job (see the module)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from timebank import create_app, tasks

        tasks.use_worker_app(create_app())
