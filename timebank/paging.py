"""Keyset paging: lists that grow with history (statements, the group ledger, the audit
trail) are read a page at a time from a key, newest first, so a deep page costs what the
first one costs: one statement on an index, no OFFSET, no count.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from timebank.extensions import db


@dataclass
class Page:
    """One page of a list paged by key, newest first: its rows, and the keys to pass as
    ``before`` (the next, older page) or ``after`` (the previous, newer one), None at an end."""

    rows: list
    before: int | None = None
    after: int | None = None


def keyset_page(query: sa.Select, key, *, limit: int, before: int | None = None,
                after: int | None = None) -> Page:
    """Run ``query`` newest first by ``key`` (an id column), one page of ``limit`` rows from
    the keys ``before`` or ``after``; one statement, fetching one row more to know if one
    follows. ``query`` selects its columns plus ``key`` labelled ``"key"`` as the last one;
    the page's rows leave it out."""
    if after is not None:
        rows = db.session.execute(
            query.where(key > after).order_by(key.asc()).limit(limit + 1)
        ).all()
        has_newer, rows = len(rows) > limit, rows[:limit][::-1]
        has_older = bool(rows)
    else:
        if before is not None:
            query = query.where(key < before)
        rows = db.session.execute(query.order_by(key.desc()).limit(limit + 1)).all()
        has_older, rows = len(rows) > limit, rows[:limit]
        has_newer = before is not None and bool(rows)
    ids = [row._mapping["key"] for row in rows]
    return Page(rows=[tuple(row)[:-1] for row in rows],
                before=ids[-1] if has_older else None,
                after=ids[0] if has_newer else None)


def keyset_objects(query: sa.Select, key, *, limit: int, before: int | None = None,
                   after: int | None = None) -> Page:
    """:func:`keyset_page` for ``query`` selecting one entity (``sa.select(Ad)...``) whose id
    is ``key``: the page's rows are its objects, newest first."""
    page = keyset_page(query.add_columns(key.label("key")), key, limit=limit, before=before,
                       after=after)
    page.rows = [row[0] for row in page.rows]
    return page


# A download's chunks (:func:`keyset_chunks`): the first is small, so its first rows leave at
# once however long the list is (1,000 rows of a statement take ~40 ms to read and format);
# the rest are large, so a long list costs few statements.
FIRST_CHUNK = 50
CHUNK = 1000


def keyset_chunks(read_page: Callable[[int, int | None], Page], *, first: int = FIRST_CHUNK,
                  size: int = CHUNK) -> Iterator[list]:
    """Yield a whole list, newest first, as lists of rows: ``first`` rows, then at most
    ``size`` at a time. ``read_page(limit, before)`` returns one :class:`Page` (one keyed
    statement); a download streams the list in constant memory this way."""
    limit, before = first, None
    while True:
        page = read_page(limit, before)
        if page.rows:
            yield page.rows
        if page.before is None:
            return
        limit, before = size, page.before
