"""A web worker's garbage collector once it has loaded the app (timebank.server)."""

import gc
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
