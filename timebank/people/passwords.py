"""Password hashing with argon2 (RFC 9106 parameters as chosen by argon2-cffi).

The suite's app (``TESTING`` and ``PASSWORD_HASH_CHEAPEST``, both set by
:class:`timebank.config.TestConfig` only) hashes with argon2-cffi's cheapest parameters: a
real hash costs ~0.2 s of CPU and 64 MiB, and the suite makes thousands. Verifying reads the
parameters from the hash itself, so either hasher checks a hash the other made.
"""

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

_hasher = PasswordHasher()
_cheapest = PasswordHasher.from_parameters(profiles.CHEAPEST)


def _app_hasher() -> PasswordHasher:
    config = current_app.config if has_app_context() else {}
    return _cheapest if config.get("TESTING") and config.get("PASSWORD_HASH_CHEAPEST") else _hasher


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password`` (a ``$argon2id$…`` string)."""
    return _app_hasher().hash(password)


def check_password(password_hash: str, password: str) -> bool:
    """Return whether ``password`` matches ``password_hash``; ``False`` for a hash that is not
    argon2."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
