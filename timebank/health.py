"""Health checks for load balancers and deploys: ``/healthz`` and ``/readyz``.

They are answered by a small WSGI layer in front of Flask, so they work on any host name (a
health check from nginx or a deploy script asks ``127.0.0.1``, which is no group's host), need
no session, tenant or login, and do not add a line to the request log.

* ``/healthz``: the process answers. Touches nothing else.
* ``/readyz``: the database answers, Redis answers (when ``REDIS_URL`` is set) and the
  database's schema is at the migrations' head; 200 when all hold, else 503 naming what failed.
  A web host is put back into nginx's upstream only once it is ready.
"""

import json
import logging
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class HealthChecks:
    """WSGI middleware answering ``/healthz`` and ``/readyz``; every other path goes on."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._heads: set[str] | None = None

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _answer(start_response, 200, {"status": "ok"})
        if path == "/readyz":
            checks = self.readiness()
            ready = all(value == "ok" for value in checks.values())
            body = {"status": "ready" if ready else "not ready", "checks": checks}
            return _answer(start_response, 200 if ready else 503, body)
        return self.wsgi_app(environ, start_response)

    def readiness(self) -> dict[str, str]:
        """Return each check's result: ``"ok"`` or a short reason."""
        checks = {"database": "ok", "schema": "ok", "redis": "ok"}
        with self.app.app_context():
            from timebank.extensions import db

            try:
                with db.engine.connect() as connection:
                    versions = set(connection.scalars(
                        sa.text("SELECT version_num FROM alembic_version")))
            except Exception as error:  # noqa: BLE001 - any failure means not ready
                log.warning("readyz: database check failed: %s", error)
                checks["database"] = "unreachable"
                checks["schema"] = "unknown"
            else:
                heads = self.migration_heads()
                if versions != heads:
                    checks["schema"] = (
                        f"at {','.join(sorted(versions)) or 'nothing'}, "
                        f"code expects {','.join(sorted(heads))}")
            url = self.app.config.get("REDIS_URL")
            if url:
                checks["redis"] = _redis_check(url)
            else:
                checks["redis"] = "ok"  # jobs run in-process
        return checks

    def migration_heads(self) -> set[str]:
        """Return the heads of the migrations this code ships (read once per process)."""
        if self._heads is None:
            from alembic.config import Config
            from alembic.script import ScriptDirectory

            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            self._heads = set(ScriptDirectory.from_config(config).get_heads())
        return self._heads


def _redis_check(url: str) -> str:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
    except Exception as error:  # noqa: BLE001
        log.warning("readyz: redis check failed: %s", error)
        return "unreachable"
    return "ok"


def _answer(start_response, status: int, body: dict):
    payload = json.dumps(body).encode()
    reason = {200: "OK", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(payload))),
        ("Cache-Control", "no-store"),
    ])
    return [payload]


def install_health_checks(app: Flask) -> None:
    """Answer ``/healthz`` and ``/readyz`` before Flask's routing, tenancy and sessions."""
    app.wsgi_app = HealthChecks(app, app.wsgi_app)
