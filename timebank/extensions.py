"""Flask extensions, created unbound; :func:`timebank.create_app` binds them."""

import sqlalchemy as sa
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

# Every constraint gets a predictable name, so migrations can refer to it.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
mail = Mail()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


_redis_clients: dict = {}


def redis_client(app):
    """The Redis client for the app's ``REDIS_URL`` (set): one client, and one connection pool,
    per URL per process (rq's queue, the groups' version of :mod:`timebank.tenants.cache`)."""
    url = app.config["REDIS_URL"]
    if url not in _redis_clients:
        from redis import Redis

        _redis_clients[url] = Redis.from_url(url)
    return _redis_clients[url]
