"""Which group the current request, job or CLI command is working for.

The group id lives in a :class:`contextvars.ContextVar`, so the same scoping works in a request,
an rq job and a CLI command. Use :func:`group_context` to enter a group outside a request and
:func:`all_groups` to step out of tenant scoping on purpose (network admin, CLI, verify).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current_group_id: ContextVar[int | None] = ContextVar("current_group_id", default=None)
_unscoped: ContextVar[bool] = ContextVar("unscoped", default=False)
_flushing: ContextVar[bool] = ContextVar("flushing", default=False)


def current_group_id() -> int | None:
    """Return the id of the group in context, or None (tenant queries then match nothing)."""
    return _current_group_id.get()


def is_unscoped() -> bool:
    """Return whether tenant scoping is switched off by :func:`all_groups`."""
    return _unscoped.get()


def set_group(group_id: int | None) -> None:
    """Set the group for the rest of this context (used by the request boundary)."""
    _current_group_id.set(group_id)


@contextmanager
def group_context(group_id: int) -> Iterator[None]:
    """Run a block as group ``group_id`` (jobs and CLI commands restore their group with this)."""
    token = _current_group_id.set(group_id)
    try:
        yield
    finally:
        _current_group_id.reset(token)


@contextmanager
def all_groups() -> Iterator[None]:
    """Run a block with tenant scoping switched off. Rare and explicit: grep for it."""
    token = _unscoped.set(True)
    try:
        yield
    finally:
        _unscoped.reset(token)


def is_flushing() -> bool:
    """Return whether a session is flushing (:class:`~timebank.tenants.scoping.TenantSession`)."""
    return _flushing.get()


@contextmanager
def flushing() -> Iterator[None]:
    """Mark a session's flush: the database's fence lets it write the rows the session holds."""
    token = _flushing.set(True)
    try:
        yield
    finally:
        _flushing.reset(token)
