"""The export job: build a group's ZIP (:mod:`timebank.portability.export`) with progress.

Its own transaction boundary: the export row is marked ``running`` (committed), the data is read
in a repeatable-read snapshot while progress is written through a separate connection (so the
console sees it move), then the ZIP and ``done`` are committed. A failure is recorded on the row.
Running it again on a finished export does nothing.
"""

import logging

import sqlalchemy as sa

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
    """Read the group in one repeatable-read snapshot when this transaction is fresh."""
    connection = db.session.connection()
    if not connection.in_nested_transaction():  # under the test suite's savepoints: as is
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def build_group_export(export_id: int) -> None:
    """Job: build export ``export_id`` and store the ZIP on its row."""
    from timebank.portability.export import build_zip

    export = _locked(export_id)
    if export is None or export.status not in (ExportStatus.QUEUED, ExportStatus.FAILED):
        db.session.rollback()
        return
    export.status = ExportStatus.RUNNING
    export.progress = 5
    export.error = None
    group_id = export.group_id
    db.session.commit()
    try:
        if group_id is None:
            raise LookupError("the group was deleted")
        _snapshot()
        content = build_zip(group_id=group_id,
                            on_progress=lambda percent: _report_progress(export_id, percent))
        db.session.rollback()  # end the read snapshot: the row changed since (progress)
        export = _locked(export_id)
        export.content = content
        export.size = len(content)
        export.status = ExportStatus.DONE
        export.progress = 100
        export.finished_at = utcnow()
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        export = _locked(export_id)
        if export is not None:
            export.status = ExportStatus.FAILED
            export.error = f"{type(error).__name__}: {error}"[:2000]
            export.finished_at = utcnow()
        db.session.commit()
        log.exception("export %s failed", export_id)
        if not isinstance(error, LookupError):
            raise
