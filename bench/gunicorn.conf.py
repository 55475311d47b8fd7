# The hooks of production's gunicorn config (ansible/roles/web/templates/gunicorn.conf.py.j2),
# for bench/http_load.py: the settings themselves are given on its command line.


def post_worker_init(worker):
    from timebank.server import worker_ready  # in the worker, after it loaded the app

    worker_ready()
