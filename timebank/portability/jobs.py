"""The export job: build a group's ZIP (:mod:`timebank.portability.export`) with progress.

It runs in steps, each its own transaction through :func:`timebank.boundary.run_in_transaction`:
the export row is marked ``running``; the data is read in one repeatable-read snapshot while
progress is written through a separate connection (so the console sees it move) and the ZIP
goes to a temporary file; the ZIP (in pieces) and ``done`` are stored. A failure is recorded on
the row. Running it again on a finished export does nothing.
"""

import logging
import tempfile
from typing import BinaryIO

import sqlalchemy as sa

from timebank.boundary import run_in_transaction
from timebank.extensions import db
from timebank.models import ExportStatus, GroupExport, utcnow

log = logging.getLogger(__name__)


def _locked(export_id: int) -> GroupExport | None:
    return db.session.scalar(
        sa.select(GroupExport).where(GroupExport.id == export_id).with_for_update()
        .execution_options(populate_existing=True)
    )


def _report_progress(export_id: int, percent: int) -> None:
    """Write progress outside the job's transaction (best effort: it is only a display)."""
    try:
        with db.engine.begin() as connection:
            connection.execute(
                sa.update(GroupExport).where(GroupExport.id == export_id)
                .values(progress=percent)
            )
    except sa.exc.SQLAlchemyError:  # never fail an export over its progress bar
        log.warning("export %s: progress %s not recorded", export_id, percent)


def _snapshot() -> None:
    """Read the group in one repeatable-read snapshot when this transaction is fresh: the
    connection begins it at that level (psycopg's ``BEGIN ISOLATION LEVEL``), before the
    tenant settings or any other statement, and is reset when it returns to the pool. A
    session joined to a transaction begun outside it (the test suite's) reads as it is."""
    session = db.session()
    if isinstance(session.get_bind(), sa.engine.Connection):
        return
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _start(export_id: int) -> tuple[bool, int | None]:
    """Step: mark the export ``running``; return (whether to build it, its group id)."""
    export = _locked(export_id)
    if export is None or export.status not in (ExportStatus.QUEUED, ExportStatus.FAILED):
        return False, None
    export.status = ExportStatus.RUNNING
    export.progress = 5
    export.error = None
    return True, export.group_id


def _read(export_id: int, group_id: int, file: BinaryIO) -> None:
    """Step: write the ZIP of group ``group_id`` to ``file`` from one snapshot (it writes
    nothing to the database)."""
    from timebank.portability.export import write_zip

    file.seek(0)
    file.truncate()  # a retried step starts the file again
    _snapshot()
    write_zip(file, group_id=group_id,
              on_progress=lambda percent: _report_progress(export_id, percent))


def _store(export_id: int, file: BinaryIO) -> None:
    """Step: store the ZIP in ``file`` as the export's pieces and mark it ``done``."""
    from timebank.portability.export import store

    export = _locked(export_id)
    store(export, file)
    export.status = ExportStatus.DONE
    export.progress = 100
    export.finished_at = utcnow()


def _record_failure(export_id: int, error: Exception) -> None:
    """Step: mark the export ``failed`` with the reason."""
    export = _locked(export_id)
    if export is not None:
        export.status = ExportStatus.FAILED
        export.error = f"{type(error).__name__}: {error}"[:2000]
        export.finished_at = utcnow()


def build_group_export(export_id: int) -> None:
    """Job: build export ``export_id`` and store its ZIP (:func:`timebank.portability.export.
    store`). The ZIP is written to a temporary file first: memory stays flat however long the
    group's history."""
    should_build, group_id = run_in_transaction(_start, export_id)
    if not should_build:
        return
    try:
        if group_id is None:
            raise LookupError("the group was deleted")
        with tempfile.TemporaryFile() as file:
            run_in_transaction(_read, export_id, group_id, file)
            run_in_transaction(_store, export_id, file)
    except Exception as error:
        run_in_transaction(_record_failure, export_id, error)
        log.exception("export %s failed", export_id)
        if not isinstance(error, LookupError):
            raise
