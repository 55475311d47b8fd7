"""Automatic tenant scoping of ORM queries and tenant stamping of new rows.

* Every ORM ``SELECT``/``UPDATE``/``DELETE`` touching a :class:`TenantMixin` table gets
  ``group_id = <current group>`` through ``with_loader_criteria``; with no group in context it
  matches nothing (fail closed).
* Every new tenant row is stamped with the current group before flush; a row stamped with another
  group, or a new tenant row with no group in context, raises :class:`TenantError`.
"""

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from timebank.extensions import db
from timebank.models.base import TenantMixin
from timebank.tenants.context import current_group_id, flushing, is_unscoped


class TenantError(RuntimeError):
    """A write would cross or escape tenant boundaries."""


def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if is_unscoped() or state.is_column_load or state.is_relationship_load:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    group_id = current_group_id()
    # With no group, "group_id = NULL" is never true: tenant tables then match nothing.
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantMixin,
            lambda cls: cls.group_id == group_id,
            include_aliases=True,
        )
    )


def _stamp_new_rows(session: Session, flush_context, instances) -> None:
    group_id = current_group_id()
    for obj in session.new:
        if not isinstance(obj, TenantMixin):
            continue
        if obj.group_id is None:
            if group_id is None:
                raise TenantError(f"new {type(obj).__name__} with no group in context")
            obj.group_id = group_id
        elif group_id is not None and obj.group_id != group_id and not is_unscoped():
            raise TenantError(f"{type(obj).__name__} belongs to another group")


class TenantSession(FlaskSession):
    """The app's session. Its flush passes the database's tenant fence (timebank.tenants.rls):
    it writes only rows the session already holds — read through the fence, or new ones that
    :func:`_stamp_new_rows` stamped with the current group — and often runs after the group's
    context has ended (at commit), so the fence would hide the rows it updates or deletes."""

    def flush(self, objects=None) -> None:
        with flushing():
            super().flush(objects)


def install_scoping() -> None:
    """Register the session hooks and class (idempotent; called by the app factory)."""
    sessions = db.session.session_factory  # Flask-SQLAlchemy's sessionmaker
    if not issubclass(sessions.class_, TenantSession):
        sessions.class_ = TenantSession
    if not event.contains(Session, "do_orm_execute", _add_tenant_criteria):
        event.listen(Session, "do_orm_execute", _add_tenant_criteria)
        event.listen(Session, "before_flush", _stamp_new_rows)
