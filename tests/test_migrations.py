"""One migration head, reached cleanly from any head the history had before the merge.

Before revision 1a2b3c4d5e6f the history had five heads; a database was brought to all of
them (``flask db upgrade heads``) or, on older checkouts, to some. Each case builds a scratch
database at those heads, then runs plain ``flask db upgrade`` to the single head.
"""

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from timebank import create_app
from timebank.config import TestConfig
from timebank.extensions import db

OLD_HEADS = ("a7b8c9d0e1f2", "c3a1b2d4e5f6", "da1b2c3d4e5f", "e5f6a7b8c9d0", "f6a7b8c9d0e1")
CASES = [(head,) for head in OLD_HEADS] + [OLD_HEADS]


@pytest.fixture
def scratch_database(app):
    """A new empty database on the test server, dropped afterwards; yields its URL."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    name = f"{url.database}_migrations"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.mark.parametrize("heads", CASES, ids=["+".join(h[:4] for h in case) for case in CASES])
def test_a_database_at_yesterdays_heads_upgrades_to_the_one_head(scratch_database, heads):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    other = create_app({**config, "DATABASE_URL": scratch_database, "REDIS_URL": None})
    with other.app_context():
        try:
            for head in heads:
                upgrade(revision=head)
            upgrade()
            script = ScriptDirectory.from_config(other.extensions["migrate"].migrate.get_config())
            with db.engine.connect() as connection:
                current = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                assert list(current.scalars()) == [script.get_current_head()]
        finally:
            db.engine.dispose()
