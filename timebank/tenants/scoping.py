"""Automatic tenant scoping of ORM queries and tenant stamping of new rows.

* Every ORM ``SELECT``/``UPDATE``/``DELETE`` touching a :class:`TenantMixin` table gets
  ``group_id = <current group>`` through ``with_loader_criteria``; with no group in context it
  matches nothing (fail closed). The criteria are one object for the whole process, and the
  group is the bound parameter :data:`GROUP_PARAMETER` of each execution: a statement that is
  built once (``@cache``) then gets its criteria once too, and SQLAlchemy keeps its cache key,
  instead of walking the whole statement again on every execution (issue 14: a dashboard's
  possible trades 1.2 → 0.5 ms of CPU). Nothing kept holds a group: a parameter that is
  missing is an error, never another group's rows.
* Every new tenant row is stamped with the current group before flush; a row stamped with another
  group, or a new tenant row with no group in context, raises :class:`TenantError`.
"""

from weakref import WeakKeyDictionary

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Integer, bindparam, event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import Executable

from timebank.extensions import db
from timebank.models.base import TenantMixin
from timebank.tenants.context import current_group_id, flushing, is_unscoped


class TenantError(RuntimeError):
    """A write would cross or escape tenant boundaries."""


GROUP_PARAMETER = "timebank_tenant_group_id"
_GROUP = bindparam(GROUP_PARAMETER, type_=Integer)
_CRITERIA = with_loader_criteria(
    TenantMixin, lambda cls: cls.group_id == _GROUP, include_aliases=True,
    track_closure_variables=False,
)
# statement -> the same statement with _CRITERIA; an entry goes with its statement.
_scoped: WeakKeyDictionary[Executable, Executable] = WeakKeyDictionary()


def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    # Every execution gets the group, even where no criteria are added here: a load of an
    # object's relationship or expired or deferred column carries the criteria of the query
    # that loaded the object, and so is scoped to the group in context when it runs (not, as
    # when the criteria held the group, to the one that loaded the object). With no group,
    # "group_id = NULL" is never true: tenant tables then match nothing, so an object loaded
    # inside group_context() must not be used for new loads after the block.
    group = {GROUP_PARAMETER: current_group_id()}
    parameters = state.parameters
    if isinstance(parameters, (list, tuple)):  # an ORM bulk UPDATE, one dict a row
        state.parameters = [{**row, **group} for row in parameters]
    else:
        state.parameters = {**(parameters or {}), **group}
    if is_unscoped() or state.is_column_load or state.is_relationship_load:
        return
    statement = state.statement
    scoped = _scoped.get(statement)
    if scoped is None:
        scoped = _scoped[statement] = statement.options(_CRITERIA)
    state.statement = scoped


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
