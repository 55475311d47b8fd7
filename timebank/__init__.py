"""Timebank: one Flask deployment hosting a network of timebanks.

:func:`create_app` builds the app in named steps, readable top to bottom.
"""

from flask import Flask

from timebank.boundary import TransactionalFlask
from timebank.config import INSTANCE_PATH, Config


def create_app(config: type | dict | None = None) -> Flask:
    """Build the Flask app. ``config`` is a config class or a dict of overrides."""
    # TransactionalFlask runs each view in one transaction (timebank.boundary).
    app = TransactionalFlask(__name__, instance_path=str(INSTANCE_PATH),
                             instance_relative_config=True)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    configure_database(app)
    configure_secrets(app)
    configure_logging(app)
    register_proxy(app)
    register_health_checks(app)
    register_extensions(app)
    register_security(app)
    register_tenancy(app)
    register_transaction_boundary(app)
    register_blueprints(app)
    register_rate_limits(app)
    register_template_helpers(app)
    register_errors(app)
    register_cli(app)
    return app


def configure_database(app: Flask) -> None:
    url = app.config.get("SQLALCHEMY_DATABASE_URI") or app.config.get("DATABASE_URL")
    if not url:
        from timebank.embedded import embedded_database_url

        url = embedded_database_url(INSTANCE_PATH)
        # It logs in as a superuser, whom row-level security does not bind.
        app.config["DATABASE_APP_ROLE"] = app.config.get("DATABASE_APP_ROLE") or "timebank_app"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    app.config["SQLALCHEMY_DATABASE_URI"] = url


def configure_secrets(app: Flask) -> None:
    """Stop here without a strong SECRET_KEY outside development (timebank.security.secrets)."""
    from timebank.security.secrets import configure_secret_key

    configure_secret_key(app)


def configure_logging(app: Flask) -> None:
    """Text or JSON logs (``LOG_FORMAT``), one line per request, Sentry when configured."""
    from timebank.observability import configure_logging, init_error_reporting, install_request_log

    configure_logging(app)
    install_request_log(app)
    init_error_reporting(app)


def register_proxy(app: Flask) -> None:
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_health_checks(app: Flask) -> None:
    from timebank.health import install_health_checks

    install_health_checks(app)  # /healthz, /readyz: on any host, before tenancy


def register_extensions(app: Flask) -> None:
    from timebank.extensions import (
        bootstrap,
        csrf,
        db,
        limiter,
        login_manager,
        mail,
        migrate,
    )
    from timebank.i18n import init_i18n

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    init_i18n(app)  # compiles stale catalogs, binds babel with the locale/time zone selectors
    bootstrap.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)

    from timebank.auth_loader import install_user_loader

    install_user_loader(login_manager)


def register_security(app: Flask) -> None:
    """Headers, sessions that end, bad input as 400, the outage page (timebank.security)."""
    from timebank.security import install_security

    install_security(app)


def register_tenancy(app: Flask) -> None:
    from timebank.tenants import register_tenancy as install

    install(app)


def register_transaction_boundary(app: Flask) -> None:
    """The request owns the transaction (:mod:`timebank.boundary`): each view commits once if
    it succeeded, else rolls back, retrying a deadlock; jobs leave after the commit."""
    from timebank.boundary import install_request_boundary
    from timebank.tasks import install_job_hooks
    from timebank.tenants.context import set_group

    install_job_hooks(app)
    install_request_boundary(app)

    @app.teardown_request
    def forget_group(error):
        set_group(None)


def register_blueprints(app: Flask) -> None:
    from timebank.blueprints.auth import bp as auth_bp
    from timebank.blueprints.ledger import bp as ledger_bp
    from timebank.blueprints.marketplace import bp as marketplace_bp
    from timebank.blueprints.members import bp as members_bp
    from timebank.blueprints.network import bp as network_bp
    from timebank.blueprints.settings import bp as settings_bp
    from timebank.blueprints.trading import bp as trading_bp

    app.register_blueprint(network_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(ledger_bp)
    app.register_blueprint(members_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(marketplace_bp)
    app.register_blueprint(trading_bp)
    # Money that moves by itself: standing orders, fees, demurrage (timebank.schedules).
    from timebank.blueprints.schedules import bp as schedules_bp

    app.register_blueprint(schedules_bp)
    # Two-factor sign-in: the code step of login, setup, the network rule (timebank.security).
    from timebank.blueprints.security import bp as security_bp

    app.register_blueprint(security_bp)
    register_group_administration(app)
    register_api(app)


def register_api(app: Flask) -> None:
    """The public JSON API, its OpenAPI document and docs, tokens, ActivityPub (issue 19)."""
    from timebank.api import install_api

    install_api(app)


def register_group_administration(app: Flask) -> None:
    """Running a group (issue 6): audit trail, coordinator dashboard, volunteering, reports; the
    audit hook that puts the ledger's administrative acts on the trail."""
    from timebank.audit.ledger_hooks import install_ledger_hooks
    from timebank.blueprints.audit import bp as audit_bp
    from timebank.blueprints.coordinator import bp as coordinator_bp
    from timebank.blueprints.reports import bp as reports_bp
    from timebank.blueprints.volunteering import bp as volunteering_bp

    install_ledger_hooks()
    app.register_blueprint(audit_bp)
    app.register_blueprint(coordinator_bp)
    app.register_blueprint(volunteering_bp)
    app.register_blueprint(reports_bp)  # reports for coordinators and network admins (issue 20)


def register_rate_limits(app: Flask) -> None:
    """Abuse limits on sign-up, login, reset, payments, messages (timebank.security.throttle)."""
    from timebank.security.throttle import install_rate_limits

    install_rate_limits(app)


def register_template_helpers(app: Flask) -> None:
    from timebank.templating import install_template_helpers

    install_template_helpers(app)


def register_errors(app: Flask) -> None:
    from timebank.errors import install_error_handlers

    install_error_handlers(app)


def register_cli(app: Flask) -> None:
    from timebank.cli import install_cli

    install_cli(app)
