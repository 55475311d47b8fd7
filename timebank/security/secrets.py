"""The signing key: refuse to run outside development and tests without a strong ``SECRET_KEY``.

Everything signed (session and remember cookies, reset and confirmation links, the login
hand-off) is signed with ``SECRET_KEY``; whoever knows it can forge a network admin's session.
So outside development and tests the app stops at start when ``SECRET_KEY`` is missing, is a
known placeholder or is shorter than :data:`MIN_SECRET_LENGTH` characters. In development (the
quick start on the embedded database, ``FLASK_DEBUG=1`` or ``TIMEBANK_ENV=development``) a
missing key is replaced by a random one kept in ``instance/secret_key``.

Rotation: put the new key in ``SECRET_KEY`` and the old ones, comma-separated, in
``SECRET_KEY_FALLBACKS``; Flask's session and the app's tokens verify with any of them and sign
with the new one only.
"""

import os
import secrets
from pathlib import Path

from flask import Flask

MIN_SECRET_LENGTH = 32
# Keys that shipped in code or docs at some point: a cookie signed with one of them is public.
KNOWN_WEAK_KEYS = frozenset({"dev-insecure-change-me", "change-me", "changeme", "secret", "dev"})


class InsecureSecretKey(RuntimeError):
    """Raised at start when ``SECRET_KEY`` is missing or weak outside development."""


def is_development(app: Flask) -> bool:
    """Return whether this app runs for development or tests (not for real members)."""
    return bool(
        app.debug
        or app.testing
        or os.environ.get("TIMEBANK_ENV", "").lower() == "development"
        or not app.config.get("DATABASE_URL")  # the embedded quick start
    )


def configure_secret_key(app: Flask) -> None:
    """Check ``SECRET_KEY`` (or make a development one) and read the rotation fallbacks.

    Raises :class:`InsecureSecretKey` naming the variable when the key is missing or weak
    outside development and tests.
    """
    fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, str):
        fallbacks = [key.strip() for key in fallbacks.split(",") if key.strip()]
    app.config["SECRET_KEY_FALLBACKS"] = [k for k in fallbacks if k not in KNOWN_WEAK_KEYS]
    key = app.config.get("SECRET_KEY")
    if is_development(app):
        if not key or key in KNOWN_WEAK_KEYS:
            app.config["SECRET_KEY"] = development_key(Path(app.instance_path))
        return
    if not key:
        raise InsecureSecretKey(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a random value "
            f"of at least {MIN_SECRET_LENGTH} characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'."
        )
    if key in KNOWN_WEAK_KEYS or len(key) < MIN_SECRET_LENGTH or len(set(key)) < 10:
        raise InsecureSecretKey(
            f"SECRET_KEY is too weak: use a random value of at least {MIN_SECRET_LENGTH} "
            "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'."
        )


def development_key(instance_path: Path) -> str:
    """Return the random key kept in ``instance/secret_key``, creating it (mode 0600) once."""
    path = instance_path / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if len(key) >= MIN_SECRET_LENGTH:
            return key
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key


def signing_keys() -> list[str]:
    """Return the keys for an ``itsdangerous`` serializer: old ones verify, the last one signs."""
    from flask import current_app

    return [*current_app.config.get("SECRET_KEY_FALLBACKS", []), current_app.config["SECRET_KEY"]]
