"""Where to send the browser next, without open redirects; which page of a list it asked for."""

from urllib.parse import urlsplit

from flask import request


def page_keys() -> dict[str, int | None]:
    """The keys ``before`` / ``after`` of a list paged by key (:mod:`timebank.paging`), from
    the query string: ``{"before": int | None, "after": int | None}``; a key that is not an
    integer is None (the first page)."""
    return {name: request.args.get(name, type=int) for name in ("before", "after")}


def local_path(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this host (``/dashboard?page=2``), else None.

    Browsers read ``/\\evil.example`` as ``//evil.example`` and drop tabs and newlines (so
    ``/<TAB>/evil.example`` becomes ``//evil.example``); those are refused along with anything
    naming a scheme or a host.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
