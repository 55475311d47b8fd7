"""Configuration from environment variables, with safe defaults for development.

Every setting can be overridden by an environment variable of the same name. With no
``DATABASE_URL`` the app starts an embedded PostgreSQL under ``instance/`` (see
:mod:`timebank.embedded`); with no ``REDIS_URL`` background jobs run in-process.
"""

import os
from pathlib import Path

INSTANCE_PATH = Path(os.environ.get("TIMEBANK_INSTANCE", Path.cwd() / "instance")).resolve()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    # Required outside development and tests (timebank.security.secrets checks it at start).
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Old keys still accepted while rotating, comma-separated; new signatures use SECRET_KEY.
    SECRET_KEY_FALLBACKS = os.environ.get("SECRET_KEY_FALLBACKS", "")
    BASE_DOMAIN = os.environ.get("BASE_DOMAIN", "localhost:5000")
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    # Behind nginx: how many proxies to trust for X-Forwarded-Host/-Proto (0 = none).
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", "0"))

    DATABASE_URL = os.environ.get("DATABASE_URL")  # None -> embedded PostgreSQL
    # The role each transaction switches to when DATABASE_URL logs in as a superuser
    # (development, tests; the embedded server sets it): row-level security binds no superuser
    # (timebank.tenants.rls). Unset in production, where DATABASE_URL is that role already.
    DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE") or None
    # Every statement of the app ends within DATABASE_STATEMENT_TIMEOUT (a ledger call cut off
    # ends in a typed error, never a hang); TCP keepalives notice a peer that vanished without
    # closing the connection. Migrations lift the timeout (migrations/env.py).
    DATABASE_STATEMENT_TIMEOUT = os.environ.get("DATABASE_STATEMENT_TIMEOUT", "30s")
    # No pre-ping: it costs a round trip on every checkout (10 % of a payment, issue 14).
    # Connections are recycled after DATABASE_POOL_RECYCLE seconds instead, and one found dead
    # in use (PostgreSQL restarted, a proxy dropped it) makes SQLAlchemy invalidate the whole
    # pool: that request fails (503 page, timebank.security.outage), the next ones reconnect.
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_recycle": int(os.environ.get("DATABASE_POOL_RECYCLE", "1800")),
        "connect_args": {
            "options": f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT}",
            "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    }
    REDIS_URL = os.environ.get("REDIS_URL")  # None -> jobs run in-process
    # How long a process keeps a group it has served without reading it again; a change ends
    # it sooner, in every process when REDIS_URL is set (timebank.tenants.cache).
    GROUP_CACHE_SECONDS = float(os.environ.get("GROUP_CACHE_SECONDS", "30"))

    # Operations (timebank.observability): "json" makes every log line one JSON object.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    SENTRY_DSN = os.environ.get("SENTRY_DSN")  # unset: no error reporting
    SENTRY_ENVIRONMENT = os.environ.get("SENTRY_ENVIRONMENT", "production")
    SENTRY_TRACES_SAMPLE_RATE = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0"))
    RELEASE = os.environ.get("TIMEBANK_RELEASE")  # set by the deploy: the running release's name

    # Host-only cookies: no Domain attribute, so a login at a.example.org never reaches
    # b.example.org (RFC 6265 section 4.1.2.3).
    SESSION_COOKIE_DOMAIN = None
    REMEMBER_COOKIE_DOMAIN = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)

    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent.parent / "translations")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Timebank <no-reply@localhost>")
    # Without a real MAIL_SERVER, mail is captured (logged and kept in memory), never sent.
    MAIL_SUPPRESS_SEND = "MAIL_SERVER" not in os.environ

    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)  # off only for bench/http_load.py

    # Fetch fediverse keys and deliver to inboxes on private addresses and over plain http
    # (timebank/federation/remote.py): for development against a local peer, never in production.
    FEDERATION_ALLOW_PRIVATE_HOSTS = _bool("FEDERATION_ALLOW_PRIVATE_HOSTS", False)
    # Seconds before each retry of a delivery to a fediverse inbox that is down
    # (timebank/federation/jobs.py): 1 min, 5 min, 30 min, 2 h, 8 h; then the job stays failed.
    FEDERATION_DELIVERY_RETRY_INTERVALS = [60, 300, 1800, 7200, 28800]
    # Werkzeug accepts bodies of any size otherwise; photos are capped lower by their own rule.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024)))
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", str(60 * 60)))
    # How long an emailed invitation to join a group works (timebank.people.invitations).
    INVITATION_MAX_DAYS = int(os.environ.get("INVITATION_MAX_DAYS", "14"))
    TRANSFERS_PER_PAGE = 25
    MEMBERS_PER_PAGE = 50  # the members directory (timebank.people.directory)
    MESSAGES_PER_PAGE = 50  # a conversation, paged by key (newest page first)
    ADS_PER_PAGE = 50  # "My ads", paged by key (newest first)
    # Groups on a page of the network report (/network/reports), paged by key by name; the
    # CSV and PDF list every group. The console lists 50 groups a page too.
    NETWORK_REPORT_GROUPS_PER_PAGE = 50
    PENDING_ON_DASHBOARD = 20  # pending transfers a dashboard lists; the statement has them all
    BOOTSTRAP_SERVE_LOCAL = True


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    MAIL_SUPPRESS_SEND = True
    RATELIMIT_ENABLED = False
    JOBS_SYNC = True  # with REDIS_URL: jobs go through real Redis but run in the test process
    DATABASE_APP_ROLE = "timebank_app"  # tests log in as a superuser: the fence must bind
    # argon2's cheapest parameters (timebank.people.passwords; honoured only with TESTING): a
    # real hash costs ~0.2 s of CPU, and the suite makes thousands.
    PASSWORD_HASH_CHEAPEST = True
