"""Command-line interface: ``flask ledger verify``, ``flask network ...``, ``flask demo ...``.

Each command runs in one transaction (:class:`timebank.boundary.TransactionalGroup`): it commits
once when the command returns, rolls back when it fails or exits, and is run again after a
deadlock. Commands do not commit or roll back themselves.
"""

import sys
from typing import NoReturn

import click
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale

from timebank.boundary import TransactionalGroup
from timebank.extensions import db

ledger_cli = TransactionalGroup("ledger", help="Check the ledger.")
network_cli = TransactionalGroup("network", help="Provision, suspend, export and import groups; "
                                                 "network admins.")
demo_cli = TransactionalGroup("demo", help="Seed and serve a demo network.")
translate_cli = TransactionalGroup("translate",
                                   help="Extract, update and compile message catalogs.")


@ledger_cli.command("verify")
def verify_command() -> None:
    """Check every ledger invariant in every group; exit 1 naming what is wrong."""
    from timebank.ledger.verify import verify_ledger

    problems = verify_ledger()
    for problem in problems:
        click.echo(f"FAIL {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo("ledger ok: every invariant holds")


@network_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", default="Network admin")
@click.password_option()
def create_admin_command(email: str, name: str, password: str) -> None:
    """Create (or promote) a network admin."""
    from timebank.provisioning.service import make_network_admin

    user = make_network_admin(email=email, name=name, password=password)
    click.echo(f"network admin: {user.email}")


@network_cli.command("create-group")
@click.option("--name", required=True)
@click.option("--slug", required=True)
@click.option("--locale", "default_locale", default="en")
@click.option("--coordinator-email", required=True)
@click.option("--coordinator-name", required=True)
@click.option("--coordinator-password", default=None, help="Needed if the user is new.")
@click.option("--join-policy", type=click.Choice(["open", "approval"]), default="approval")
def create_group_command(**options) -> None:
    """Provision a group with its Hours currency and first coordinator."""
    from timebank.models import JoinPolicy
    from timebank.people.errors import PeopleError
    from timebank.provisioning.service import ProvisioningError, create_group

    options["join_policy"] = JoinPolicy(options["join_policy"])
    try:
        group = create_group(**options)
    except (ProvisioningError, PeopleError) as error:
        _fail(error)
    from timebank.tenants.urls import group_url

    click.echo(f"created {group.slug}: {group_url(group.slug)}")


def _fail(error: Exception) -> NoReturn:
    """Exit 1 with the error's message (the command's transaction is then rolled back).

    Messages are lazy translations; a command has no request to choose a locale from, so they
    are rendered in English.
    """
    with force_locale("en"):
        message = str(error)
    raise click.ClickException(message) from error


@demo_cli.command("seed")
def seed_command() -> None:
    """Seed a demo network (idempotent: does nothing if the demo exists)."""
    from timebank.demo import seed_demo

    for line in seed_demo():
        click.echo(line)


@demo_cli.command("serve", transaction=False)  # each request served has its own
@click.option("--port", default=5000)
def serve_command(port: int) -> None:
    """Migrate, seed the demo network and serve it on http://localhost:PORT."""
    import os

    from flask import current_app
    from flask_migrate import upgrade
    from werkzeug.serving import run_simple

    from timebank.boundary import run_in_transaction
    from timebank.demo import seed_demo

    if "BASE_DOMAIN" not in os.environ:
        current_app.config["BASE_DOMAIN"] = f"localhost:{port}"
    upgrade()
    for line in run_in_transaction(lambda: list(seed_demo())):
        click.echo(line)
    click.echo("Press Ctrl+C to stop.")
    run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)


@translate_cli.command("update")
def translate_update() -> None:
    """Extract messages from timebank/ and update every catalog in translations/."""
    from timebank.translations import update_catalogs

    update_catalogs()


@translate_cli.command("compile")
def translate_compile() -> None:
    """Compile every catalog in translations/ to .mo files."""
    from timebank.translations import compile_catalogs

    compile_catalogs()


def install_cli(app: Flask) -> None:
    # provision, requests, suspend, reactivate, archive, export, import, check-ledgers
    import timebank.provisioning.commands  # noqa: F401  (adds them to network_cli)
    from timebank.api.commands import api_cli  # create-token, federation

    for group in (ledger_cli, network_cli, demo_cli, translate_cli, api_cli):
        app.cli.add_command(group)

    @app.shell_context_processor
    def shell_context():
        from timebank import models

        return {"db": db, "sa": sa, "models": models}
