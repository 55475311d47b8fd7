"""Files chosen for an import's dry run, kept on the server so "Import" needs no second choice.

Each check stores the uploaded bytes under ``instance/import-uploads/<user id>-<token>/`` and
puts the token in the form; the import reads them back only for the same network admin. Kept
files older than :data:`MAX_AGE` are deleted whenever one is kept.
"""

import re
import secrets
import shutil
import time
from pathlib import Path

from flask import current_app

MAX_AGE = 3600  # seconds
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
NAMES = ("members", "transfers")


def _root() -> Path:
    return Path(current_app.instance_path) / "import-uploads"


def _folder(user_id: int, token: str) -> Path | None:
    if not token or not _TOKEN.match(token):
        return None
    return _root() / f"{int(user_id)}-{token}"


def keep(user_id: int, files: dict[str, bytes | None]) -> str:
    """Store ``files`` ({"members": bytes, "transfers": bytes or None}); return their token."""
    _sweep()
    token = secrets.token_urlsafe(24)
    folder = _folder(user_id, token)
    folder.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        if files.get(name) is not None:
            (folder / name).write_bytes(files[name])
    return token


def load(user_id: int, token: str) -> dict[str, bytes | None] | None:
    """Return the files kept under ``token`` for ``user_id`` (None when there are none)."""
    folder = _folder(user_id, token)
    if folder is None or not (folder / "members").is_file():
        return None
    return {name: (folder / name).read_bytes() if (folder / name).is_file() else None
            for name in NAMES}


def forget(user_id: int, token: str) -> None:
    """Delete the files kept under ``token`` (after a successful import)."""
    folder = _folder(user_id, token)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _sweep() -> None:
    root = _root()
    if not root.is_dir():
        return
    cutoff = time.time() - MAX_AGE
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
