"""Each process keeps the rows nearly every request reads: its groups and their active
currencies, and (with Redis) the logins it has served and the members they pay, so a request
finds them without a query.

Every request starts by finding its group from the host name (:mod:`timebank.tenants.resolve`)
and the user of its login with their membership (:mod:`timebank.security.sessions`); most pages
then read the group's currencies, and a payment its payee. Together these statements cost about
half of a payment's time (issue 14). They change rarely (a coordinator's settings, a network
admin's suspension, a login or a logout), so a process keeps their columns for at most
``GROUP_CACHE_SECONDS``, and a change ends that sooner:

* **in this process**, a flush that writes, adds or deletes a row of a kept kind (a group, a
  currency, a user, a membership, a login), or an ORM ``update()``/``delete()`` of one, clears
  everything kept, and so does the commit after it (a request running beside it may have read
  the old rows again in between);
* **in every other process**, that commit also increments a version in Redis (``REDIS_URL``),
  which each request reads once (one ``GET``) before using what its process kept: a new
  version clears it. Without Redis (the one-process quick start) only the time bound applies
  across processes, so logins and members are then never kept: a logout, a password change or
  a suspension must end a login in every process at once.

What is kept is column values, never an ORM object: each request gets fresh instances in its
own session, as if a query had loaded them (relationships and deferred columns load when
used). A stale row cannot break a ledger rule: the ledger's functions read the currency and
both parties again under lock. Rows that were not found are not kept (an unknown slug, a member
who is not active), nor more than :data:`MAX_KEPT` entries: a stranger's guesses cannot grow it.
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
from timebank.models import Currency, Group, LoginSession, Membership, User
from timebank.tenants.context import current_group_id, is_unscoped

log = logging.getLogger(__name__)

VERSION_KEY = "timebank:groups:version"
_CHANGED = "timebank_groups_changed"  # session.info: this transaction wrote a kept kind of row
_KEPT_KINDS = (Group, Currency, User, Membership, LoginSession)
_KEPT_MAPPERS = tuple(sa.inspect(kind) for kind in _KEPT_KINDS)
MAX_KEPT = 10_000  # entries; past it the process starts again from nothing

_lock = threading.Lock()
# key -> (monotonic time it expires, Redis version it was read under, [(model, columns)]);
# keys: ("group", slug), ("currencies", group id), ("login", ...), ("member", ...).
_kept: dict[tuple, tuple[float, bytes | None, list[tuple[type, dict]]]] = {}
# How many times this process has cleared: a read that began before a clear keeps nothing (a
# thread may have read the old rows just before another thread's commit cleared them).
_clears = 0


def group_for_slug(slug: str) -> Group | None:
    """Return the group whose slug is ``slug`` in the current session, or None: from what this
    process kept when it is still valid, else with one query (then kept)."""
    found = _kept_or_read(("group", slug), lambda: db.session.scalars(
        sa.select(Group).where(Group.slug == slug)).all(), keep_none=False)
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
    return _kept_or_read(("currencies", group_id), read)


def kept_while_unchanged(key: tuple, read: Callable[[], list]) -> list:
    """Return ``read()``'s rows (a list of groups, currencies, users, memberships or logins,
    each with the rows its relationships need listed before it) in the current session: kept
    under ``key`` when this process holds them and nothing of a kept kind changed since, else
    read (then kept, if any). Only with Redis, so that every process learns of a change at
    once; without it, always ``read()``. ``key`` must name everything ``read`` depends on
    (the group, the login's token hash and host, ...)."""
    if not current_app.config.get("REDIS_URL"):
        return list(read())
    return _kept_or_read(key, read, keep_none=False)


def clear() -> None:
    """Forget everything this process kept (tests call it between tests)."""
    global _clears
    with _lock:
        _kept.clear()
        _clears += 1


def _kept_or_read(key: tuple, read: Callable[[], list], *, keep_none: bool = True) -> list:
    version = _current_version()
    entry = _kept.get(key)
    if entry is not None and entry[0] > time.monotonic() and entry[1] == version:
        rows = [_in_session(model, columns) for model, columns in entry[2]]
        # The session holds unchanged rows weakly: without this, a membership's user (listed
        # before it, not linked to it) would be gone, and read again, when it is used.
        g.setdefault("kept_rows", []).extend(rows)
        return rows
    clears = _clears
    rows = list(read())
    if rows or keep_none:
        seconds = current_app.config["GROUP_CACHE_SECONDS"]
        with _lock:
            if len(_kept) >= MAX_KEPT:
                _kept.clear()
            if clears == _clears:
                _kept[key] = (time.monotonic() + seconds, version,
                              [(type(row), _columns(row)) for row in rows])
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
    """``before_flush``: the session writes, adds or deletes a row of a kept kind."""
    if any(isinstance(obj, _KEPT_KINDS)
           for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True
        clear()


def _note_bulk_changes(state: ORMExecuteState) -> None:
    """``do_orm_execute``: an ORM ``update()`` or ``delete()`` of a kept kind. (A textual
    ``UPDATE groups`` is not seen: the app writes these tables only through the ORM.)"""
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
