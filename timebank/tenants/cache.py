"""Each process keeps the groups it has served and their active currencies, so a request finds
them without a query.

Every request starts by finding its group from the host name (:mod:`timebank.tenants.resolve`),
and most pages then read the group's currencies: two statements that cost about a fifth of a
payment's time (issue 14). Both change rarely (a coordinator's settings, a network admin's
suspension), so a process keeps their columns, the group by slug and its active currencies by
group, for at most ``GROUP_CACHE_SECONDS``, and a change ends that sooner:

* **in this process**, a flush that writes, adds or deletes a group or a currency, or an ORM
  ``update()``/``delete()`` of one, clears what it kept, and so does the commit after it (a
  request running beside it may have read the old rows again in between);
* **in every other process**, that commit also increments a version in Redis (``REDIS_URL``),
  which each request reads once (one ``GET``) before using what its process kept: a new
  version clears it. Without Redis (the one-process quick start) only the time bound applies
  across processes.

What is kept is column values, never an ORM object: each request gets fresh instances in its
own session, as if a query had loaded them (relationships and deferred columns load when
used). A stale currency cannot break a rule: the ledger's functions read the currency again
under lock. Only groups that exist are kept; an unknown slug is looked up each time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from timebank.extensions import db, redis_client
from timebank.models import Currency, Group
from timebank.tenants.context import current_group_id, is_unscoped

log = logging.getLogger(__name__)

VERSION_KEY = "timebank:groups:version"
_CHANGED = "timebank_groups_changed"  # session.info: this transaction wrote a kept kind of row
_KEPT_MAPPERS = (sa.inspect(Group), sa.inspect(Currency))

_lock = threading.Lock()
# key -> (monotonic time it expires, Redis version it was read under, each row's columns);
# keys: ("group", slug) and ("currencies", group id).
_kept: dict[tuple, tuple[float, bytes | None, list[dict]]] = {}
# How many times this process has cleared: a read that began before a clear keeps nothing (a
# thread may have read the old rows just before another thread's commit cleared them).
_clears = 0


def group_for_slug(slug: str) -> Group | None:
    """Return the group whose slug is ``slug`` in the current session, or None: from what this
    process kept when it is still valid, else with one query (then kept)."""
    found = _kept_or_read(("group", slug), Group, lambda: db.session.scalars(
        sa.select(Group).where(Group.slug == slug)).all())
    return found[0] if found else None


def active_currencies() -> list[Currency]:
    """Return the current group's active currencies, oldest first, in the current session:
    kept, or one query (then kept). Outside one group's context (none, or all groups) always
    the query."""
    def read():
        return db.session.scalars(
            sa.select(Currency).where(Currency.is_active).order_by(Currency.id)).all()

    group_id = current_group_id()
    if group_id is None or is_unscoped():
        return list(read())
    return _kept_or_read(("currencies", group_id), Currency, read)


def clear() -> None:
    """Forget everything this process kept (tests call it between tests)."""
    global _clears
    with _lock:
        _kept.clear()
        _clears += 1


def _kept_or_read(key: tuple, model: type, read: Callable[[], list]) -> list:
    version = _current_version()
    entry = _kept.get(key)
    if entry is not None and entry[0] > time.monotonic() and entry[1] == version:
        return [_in_session(model, columns) for columns in entry[2]]
    clears = _clears
    rows = list(read())
    if rows or model is not Group:  # an unknown slug is not kept
        seconds = current_app.config["GROUP_CACHE_SECONDS"]
        with _lock:
            if clears == _clears:
                _kept[key] = (time.monotonic() + seconds, version,
                              [_columns(row) for row in rows])
    return rows


def _columns(row) -> dict:
    mapper = sa.inspect(type(row))
    return {attr.key: _copy(row.__dict__[attr.key])
            for attr in mapper.column_attrs if attr.key in row.__dict__}


def _copy(value):
    return list(value) if isinstance(value, list) else value  # languages: one list per request


def _in_session(model: type, columns: dict):
    """The row as a query would have loaded it into the current session (no statement)."""
    session = db.session()
    found = session.identity_map.get(identity_key(model, columns["id"]))
    if found is not None:  # this session already holds it, maybe with changes of its own
        return found
    row = sa.inspect(model).class_manager.new_instance()
    row.__dict__.update({key: _copy(value) for key, value in columns.items()})
    make_transient_to_detached(row)
    session.add(row)
    return row


def _current_version() -> bytes | None:
    """The version in Redis (read once per request or job), or None without Redis."""
    if not current_app.config.get("REDIS_URL"):
        return None
    if "kept_groups_version" not in g:
        try:
            g.kept_groups_version = redis_client(current_app).get(VERSION_KEY)
        except Exception as error:  # Redis down: nothing kept is trusted, the database answers
            log.warning("kept groups' version unavailable: %s", error)
            clear()
            g.kept_groups_version = b"unavailable"
    return g.kept_groups_version


def _note_changes(session: Session, flush_context, instances) -> None:
    """``before_flush``: the session writes, adds or deletes a group or a currency."""
    if any(isinstance(obj, (Group, Currency))
           for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True
        clear()


def _note_bulk_changes(state: ORMExecuteState) -> None:
    """``do_orm_execute``: an ORM ``update()`` or ``delete()`` of groups or currencies. (A
    textual ``UPDATE groups`` is not seen: the app writes them through the ORM.)"""
    if (state.is_update or state.is_delete) and state.bind_mapper in _KEPT_MAPPERS:
        state.session.info[_CHANGED] = True
        clear()


def _announce_changes(session: Session) -> None:
    """``after_commit``: clear again, and tell the other processes."""
    if not session.info.pop(_CHANGED, False):
        return
    clear()
    if has_app_context() and current_app.config.get("REDIS_URL"):
        try:
            redis_client(current_app).incr(VERSION_KEY)
        except Exception as error:  # the other processes catch up within the time bound
            log.warning("kept groups' version not incremented: %s", error)


def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def install_group_cache() -> None:
    """Register the session hooks that end what was kept when it is written (idempotent)."""
    if not event.contains(Session, "before_flush", _note_changes):
        event.listen(Session, "before_flush", _note_changes)
        event.listen(Session, "do_orm_execute", _note_bulk_changes)
        event.listen(Session, "after_commit", _announce_changes)
        event.listen(Session, "after_rollback", _forget_changes)
