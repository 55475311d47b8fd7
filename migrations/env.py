import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from timebank.tenants.rls import as_owner, grant_app_role

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging, leaving the app's own loggers (the request
# log) working when migrations run inside a serving process (demo serve, tests).
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine



def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        # Migrations run as the role that logged in (the owner), never as DATABASE_APP_ROLE.
        as_owner(connection)
        # The app's statement_timeout (config.py) is for requests, not for rebuilding an index.
        connection.exec_driver_sql("SET statement_timeout = 0")
        installed = set(connection.exec_driver_sql("SELECT extname FROM pg_extension").scalars())
        connection.commit()

        def include_object(object, name, type_, reflected, compare_to):
            """Compare an index that needs extensions (``info["requires_extensions"]``, the
            ads' search indexes) only where they are installed: elsewhere the migration built
            a narrower index, or none."""
            declared = compare_to if reflected else object
            needs = (declared.info.get("requires_extensions", ()) if declared is not None
                     else ())
            return type_ != "index" or set(needs) <= installed

        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            include_object=include_object,
            **conf_args
        )

        with context.begin_transaction():
            context.run_migrations()
            role = current_app.config.get("DATABASE_APP_ROLE")
            if role:  # development, tests, the embedded server: production's grants.sql
                grant_app_role(connection, role)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
