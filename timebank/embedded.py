"""Start an embedded PostgreSQL under ``instance/`` when no ``DATABASE_URL`` is given.

This is the fresh-machine fallback: the ``pgserver`` package ships PostgreSQL binaries, so
``pip install`` is all a newcomer needs. Production and CI always set ``DATABASE_URL``.
"""

from pathlib import Path

_server = None


def embedded_database_url(instance_path: Path) -> str:
    """Start (or reuse) the embedded server and return a psycopg 3 SQLAlchemy URL for it."""
    global _server
    try:
        import pgserver
    except ImportError as missing:  # servers install the app without the quick-start extra
        raise RuntimeError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: set "
            "DATABASE_URL, or install the quick-start extra: pip install -e '.[demo]'"
        ) from missing

    if _server is None:
        data = instance_path / "pgdata"
        data.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None keeps the server running for sibling processes (reloader, tests).
        _server = pgserver.get_server(data, cleanup_mode=None)
        exists = _server.psql("SELECT 1 FROM pg_database WHERE datname = 'timebank';")
        if "1 row" not in exists:
            _server.psql("CREATE DATABASE timebank;")
    uri = _server.get_uri("timebank")
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)
