"""What a web worker does once it has loaded the app: gunicorn's ``post_worker_init`` hook
calls :func:`worker_ready` (``ansible/roles/web/templates/gunicorn.conf.py.j2``, and
``bench/gunicorn.conf.py`` so the benchmark measures the same)."""

import gc

# Objects allocated, minus those freed, before Python collects its youngest generation
# (Python's default is 700). A request allocates tens of thousands of short-lived objects.
YOUNG_COLLECTION_THRESHOLD = 50_000


def worker_ready() -> None:
    """Tune the garbage collector for serving requests (bench/RESULTS.md, "Garbage collection").

    The app's modules, templates and caches (~100 MB) live as long as the worker: after one
    collection they are frozen (:func:`gc.freeze`), so no later collection walks them again,
    and the youngest generation is collected every :data:`YOUNG_COLLECTION_THRESHOLD`
    allocations instead of 700. Full collections, which walked all of it, were what made the
    slowest requests several times slower than the median.
    """
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, oldest)
