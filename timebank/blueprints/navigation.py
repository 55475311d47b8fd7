"""Where to send the browser next, without open redirects."""

from urllib.parse import urlsplit


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
