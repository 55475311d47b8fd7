"""A web worker once it has loaded the app: its garbage collector (timebank.server) and the
libraries it holds."""

import gc
import os
import secrets
import subprocess
import sys
from pathlib import Path

from timebank.server import YOUNG_COLLECTION_THRESHOLD, worker_ready

ROOT = Path(__file__).resolve().parent.parent


def test_worker_ready_freezes_what_was_loaded_and_collects_less_often():
    before = gc.get_threshold()
    try:
        worker_ready()
        assert gc.get_freeze_count() > 10_000  # the app's modules, as loaded by now
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_production_and_the_benchmark_call_it_after_loading_the_app():
    for config in ("ansible/roles/web/templates/gunicorn.conf.py.j2", "bench/gunicorn.conf.py"):
        text = (ROOT / config).read_text()
        assert "def post_worker_init(worker):" in text and "worker_ready()" in text, config


def test_a_worker_loads_the_pdf_and_password_libraries_only_when_used():
    """fpdf2 (~33 MB with its font tools) and zxcvbn (~12 MB of word lists) are imported by the
    report's PDF and the password check that use them, not by every worker (bench/RESULTS.md,
    "Session 11"). The database does not exist: building the app must not connect (an rq worker
    builds it before forking, timebank/tasks/worker.py)."""
    script = ("import sys; from timebank import create_app; create_app();"
              " print(sorted({'fpdf', 'fontTools', 'zxcvbn'} & set(sys.modules)))")
    environment = {**os.environ, "TIMEBANK_ENV": "", "SECRET_KEY": secrets.token_urlsafe(48),
                   "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    loaded = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment,
                            capture_output=True, text=True, check=True).stdout
    assert loaded.strip().splitlines()[-1] == "[]"
