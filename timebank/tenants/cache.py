"""Each process keeps the groups it has served, so a request finds its group without a query.

Every request starts by finding its group from the host name (:mod:`timebank.tenants.resolve`):
one statement that cost about a tenth of a payment's time (issue 14). Groups change rarely (a
coordinator's settings, a network admin's suspension), so a process keeps each group's columns
by slug for at most ``GROUP_CACHE_SECONDS``, and a change ends that sooner:

* **in this process**, a flush that writes, adds or deletes a group clears the cache, and so
  does the commit after it (a request running beside it may have refilled it with the old row);
* **in every other process**, that commit also increments a version in Redis (``REDIS_URL``),
  which each request reads (one ``GET``) before using what its process kept: a new version
  clears it. Without Redis (the one-process quick start) only the time bound applies across
  processes.

What is kept is column values, never an ORM object: :func:`group_for_slug` builds a fresh
instance for the request's session from them, as if a query had loaded it (relationships and
deferred columns load when used). Only groups that exist are kept; an unknown slug is looked
up each time.
"""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from timebank.extensions import db
from timebank.models import Group

log = logging.getLogger(__name__)

VERSION_KEY = "timebank:groups:version"
_CHANGED = "timebank_groups_changed"  # session.info: this transaction wrote a group

_lock = threading.Lock()
# slug -> (monotonic time it expires, Redis version it was read under, column values)
_kept: dict[str, tuple[float, bytes | None, dict]] = {}
_MAPPER = sa.inspect(Group)


def group_for_slug(slug: str) -> Group | None:
    """Return the group whose slug is ``slug`` in the current session, or None: from what this
    process kept when it is still valid, else with one query (then kept)."""
    version = _current_version()
    entry = _kept.get(slug)
    if entry is not None and entry[0] > time.monotonic() and entry[1] == version:
        return _in_session(entry[2])
    group = db.session.scalar(sa.select(Group).where(Group.slug == slug))
    if group is not None:
        seconds = current_app.config["GROUP_CACHE_SECONDS"]
        with _lock:
            _kept[slug] = (time.monotonic() + seconds, version, _columns(group))
    return group


def clear() -> None:
    """Forget every group this process kept (tests call it between tests)."""
    with _lock:
        _kept.clear()


def _columns(group: Group) -> dict:
    return {attr.key: _copy(group.__dict__[attr.key])
            for attr in _MAPPER.column_attrs if attr.key in group.__dict__}


def _copy(value):
    return list(value) if isinstance(value, list) else value  # languages: one list per request


def _in_session(columns: dict) -> Group:
    """The group as a query would have loaded it into the current session (no statement)."""
    session = db.session()
    found = session.identity_map.get(identity_key(Group, columns["id"]))
    if found is not None:  # this session already holds it, maybe with changes of its own
        return found
    group = _MAPPER.class_manager.new_instance()
    group.__dict__.update({key: _copy(value) for key, value in columns.items()})
    make_transient_to_detached(group)
    session.add(group)
    return group


def _current_version() -> bytes | None:
    """The groups' version in Redis, or None without Redis (or when it does not answer)."""
    if not current_app.config.get("REDIS_URL"):
        return None
    from timebank.tasks import redis_client

    try:
        return redis_client(current_app).get(VERSION_KEY)
    except Exception as error:  # Redis down: the cache is not trusted, the database answers
        log.warning("groups' cache version unavailable: %s", error)
        clear()
        return b"unavailable"


def _note_changes(session: Session, flush_context, instances) -> None:
    """``before_flush``: the session writes, adds or deletes a group."""
    if any(isinstance(obj, Group) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True
        clear()


def _note_bulk_changes(state: ORMExecuteState) -> None:
    """``do_orm_execute``: an ``update(Group)`` or ``delete(Group)`` statement. (A textual
    ``UPDATE groups`` is not seen: the app writes groups through the ORM.)"""
    if (state.is_update or state.is_delete) and state.bind_mapper is _MAPPER:
        state.session.info[_CHANGED] = True
        clear()


def _announce_changes(session: Session) -> None:
    if not session.info.pop(_CHANGED, False):
        return
    clear()
    if has_app_context() and current_app.config.get("REDIS_URL"):
        from timebank.tasks import redis_client

        try:
            redis_client(current_app).incr(VERSION_KEY)
        except Exception as error:  # the other processes catch up within the time bound
            log.warning("groups' cache version not incremented: %s", error)


def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def install_group_cache() -> None:
    """Register the session hooks that end kept groups when one is written (idempotent)."""
    if not event.contains(Session, "before_flush", _note_changes):
        event.listen(Session, "before_flush", _note_changes)
        event.listen(Session, "do_orm_execute", _note_bulk_changes)
        event.listen(Session, "after_commit", _announce_changes)
        event.listen(Session, "after_rollback", _forget_changes)
