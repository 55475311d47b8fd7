"""Benchmark: a group's export (the ZIP job and its download) for a long history beside a
small group, in the same run.

Two groups of 1,000 members in one database (``--database``, default
``timebank_bench_export``, rebuilt unless ``--reuse``): ``big``, whose first member has
``--history`` transfers (200,000 by default) and the others 20,000 more between them (written in
bulk as ``bench/http_load.py`` writes its history), and ``small``, with no transfer. For each,
in a fresh process each (so that one's memory cannot hide the other's):

* **the job**: :func:`timebank.portability.jobs.build_group_export` as a worker runs it: its
  wall time, the ZIP's size, and how far the process's peak resident memory rose above what
  the app had after starting (``ru_maxrss``);
* **the download**: the network admin's download of that ZIP: the first chunk's time, the whole
  download's time, and the same peak memory rise.

Then the ratios big / small: memory that stays flat however long the history is "constant".

    python bench/export.py                 # seeds (~1 min), then measures
    python bench/export.py --reuse         # the groups seeded by an earlier run (migrated)
"""

import argparse
import importlib.util
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_job(database_url: str, slug: str) -> dict:
    """In this (fresh) process: export group ``slug`` as the job does. Returns the figures
    (seconds, MB) and the export's id."""
    import sqlalchemy as sa

    from timebank.extensions import db
    from timebank.models import Group, GroupExport
    from timebank.portability.jobs import build_group_export

    transfers = _module("transfers")
    app = transfers._app(database_url, None)
    with app.app_context():
        group_id = db.session.scalar(sa.select(Group.id).where(Group.slug == slug))
        export = GroupExport(group_id=group_id, group_slug=slug)
        db.session.add(export)
        db.session.commit()
        export_id = export.id
        db.session.execute(sa.text("SELECT 1"))  # the pool's connection, before the baseline
        db.session.commit()
    figures = {}
    started_mb = _peak_mb()
    began = time.perf_counter()
    with app.app_context():
        build_group_export(export_id)
    figures["job_seconds"] = time.perf_counter() - began
    figures["job_peak_rise_mb"] = _peak_mb() - started_mb
    with app.app_context():
        export = db.session.get(GroupExport, export_id)
        assert export.status.value == "done", export.error
        figures["zip_mb"] = export.size / 2**20
    figures["export_id"] = export_id
    return figures


def measure_download(database_url: str, slug: str, export_id: int) -> dict:
    """In this (fresh) process: download export ``export_id`` as the network admin's route
    does. Returns the figures (seconds, MB)."""
    import sqlalchemy as sa

    from timebank.blueprints.network.exports import _download
    from timebank.extensions import db
    from timebank.models import GroupExport

    app = _module("transfers")._app(database_url, None)
    with app.app_context():
        export = db.session.get(GroupExport, export_id)
        expected = export.size
        db.session.execute(sa.text("SELECT 1"))
        db.session.commit()
    figures = {}
    started_mb = _peak_mb()
    with app.test_request_context(base_url=f"http://{slug}.bench.localhost/"):
        began = time.perf_counter()
        response = _download(db.session.get(GroupExport, export_id))
        chunks = iter(response.response)
        size = len(next(chunks))
        figures["download_first_chunk_seconds"] = time.perf_counter() - began
        size += sum(len(chunk) for chunk in chunks)
        figures["download_seconds"] = time.perf_counter() - began
        response.close()
    assert size == expected, (size, expected)
    figures["download_peak_rise_mb"] = _peak_mb() - started_mb
    return figures


def seed(database_url: str, history: int) -> None:
    transfers = _module("transfers")
    http_load = _module("http_load")
    server, name = database_url.rsplit("/", 1)
    transfers._ensure_database(server, name)
    big, members = transfers.seed(database_url, "big")
    transfers.seed(database_url, "small")
    http_load.seed_history(database_url, big, members, history)


def upgrade(database_url: str) -> None:
    """Bring a kept database to this checkout's schema."""
    from flask_migrate import upgrade as upgrade_schema

    app = _module("transfers")._app(database_url, None)
    with app.app_context():
        upgrade_schema(directory=str(ROOT / "migrations"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database",
                        default="postgresql://postgres@127.0.0.1/timebank_bench_export")
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--download", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    if options.child:
        figures = (measure_download(options.database, options.child, options.download)
                   if options.download else measure_job(options.database, options.child))
        print(json.dumps(figures))
        return
    if options.reuse:
        upgrade(options.database)
    else:
        seed(options.database, options.history)
    def child(*arguments: str) -> dict:
        done = subprocess.run(
            [sys.executable, __file__, "--database", options.database, "--child", *arguments],
            check=True, capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    results = {}
    for slug in ("small", "big"):
        results[slug] = child(slug)
        results[slug].update(child(slug, "--download", str(results[slug].pop("export_id"))))
        print(slug, {k: round(v, 3) for k, v in results[slug].items()})
    small, big = results["small"], results["big"]
    for key in ("job_peak_rise_mb", "download_peak_rise_mb", "download_first_chunk_seconds"):
        print(f"* {key}: small {small[key]:.3f}, big {big[key]:.3f};"
              f" big - small {big[key] - small[key]:.3f}")
    print(f"* the big ZIP: {big['zip_mb']:.1f} MB, built in {big['job_seconds']:.1f} s,"
          f" downloaded in {big['download_seconds']:.2f} s")


if __name__ == "__main__":
    main()
