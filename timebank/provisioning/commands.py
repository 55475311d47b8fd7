"""``flask network ...`` commands for scripting what the console does: provision, suspend,
reactivate, archive, export, import, check ledgers, list requests.

They join the ``network`` group of :mod:`timebank.cli` (see ``install_cli``), so each runs in one
transaction (:mod:`timebank.boundary`): it commits when the command returns, or rolls back and
exits 1 with the reason (messages in English: a command has no request to take a language
from). Console actions are audited with no actor (a script).
"""

from pathlib import Path

import click
import sqlalchemy as sa
from flask_babel import force_locale

from timebank.boundary import run_in_transaction
from timebank.cli import _fail, network_cli
from timebank.extensions import db
from timebank.models import ExportStatus, Group, GroupExport, GroupRequest, utcnow
from timebank.people.errors import PeopleError
from timebank.provisioning.service import ProvisioningError


def _queue_request(request_id: int) -> None:
    """Step: approve request ``request_id`` if pending, retry it if failed (its job queued)."""
    from timebank.provisioning import requests as group_requests

    group_request = db.session.get(GroupRequest, request_id)
    if group_request is None:
        raise click.ClickException(f"no request {request_id}")
    try:
        if group_request.status.value == "pending":
            group_requests.approve_request(group_request=group_request, actor=None)
        elif group_request.status.value == "failed":
            group_requests.retry_request(group_request=group_request)
    except ProvisioningError as error:
        _fail(error)


def _group(slug: str) -> Group:
    group = db.session.scalar(sa.select(Group).where(Group.slug == slug.strip().lower()))
    if group is None:
        raise click.ClickException(f"no group at {slug}")
    return group


@network_cli.command("requests")
@click.option("--status", default=None, help="pending, queued, running, done, failed...")
def requests_command(status: str | None) -> None:
    """List requests to start a timebank (newest first)."""
    from timebank.provisioning.overview import requests_page

    items, total = requests_page(status=status, per_page=200)
    for item in items:
        click.echo(f"{item.id}\t{item.status.value}\t{item.slug}\t{item.name}\t"
                   f"{item.requester_email}\t{item.error or ''}")
    click.echo(f"{total} request(s)")


@network_cli.command("provision")
@click.option("--request", "request_id", type=int, help="Approve and provision this request.")
@click.option("--name", help="Or provision directly: the group's name...")
@click.option("--slug")
@click.option("--locale", "default_locale", default="en")
@click.option("--timezone", default="UTC")
@click.option("--place", default="")
@click.option("--coordinator-email")
@click.option("--coordinator-name")
@click.option("--coordinator-password", default=None, help="Needed if the user is new.")
def provision_command(request_id: int | None, **options) -> None:
    """Provision a group: a request's (approving it if pending, running its job now), or one
    described by the options."""
    from timebank.provisioning import audit
    from timebank.provisioning import requests as group_requests
    from timebank.tenants.urls import group_url

    if request_id is not None:
        run_in_transaction(_queue_request, request_id)  # committed: the request is queued
        # Run the job here and now; the copy queued by the approval then finds it done.
        from timebank.provisioning.jobs import provision_group

        provision_group(request_id)
        group_request = db.session.get(GroupRequest, request_id)
        db.session.refresh(group_request)
        with force_locale("en"):
            reason = group_requests.failure_message(group_request) if group_request.error else ""
        click.echo(f"request {request_id}: {group_request.status.value} {reason}".rstrip())
        if group_request.status.value == "failed":
            raise SystemExit(1)
        return
    missing = [name for name in ("name", "slug", "coordinator_email") if not options[name]]
    if missing:
        raise click.UsageError("give --request, or --name, --slug and --coordinator-email")
    from timebank.provisioning.service import create_group

    try:
        group = create_group(
            name=options["name"], slug=options["slug"], default_locale=options["default_locale"],
            timezone=options["timezone"], place=options["place"],
            coordinator_email=options["coordinator_email"],
            coordinator_name=options["coordinator_name"] or options["coordinator_email"],
            coordinator_password=options["coordinator_password"],
        )
        audit.record(actor=None, action="group.create", target=group)
    except (ProvisioningError, PeopleError) as error:
        _fail(error)
    click.echo(f"created {group.slug}: {group_url(group.slug)}")


def _status_command(name: str, change, help_text: str) -> None:
    @network_cli.command(name, help=help_text)
    @click.argument("slug")
    @click.option("--reason", default="", help="Kept in the audit trail.")
    def command(slug: str, reason: str) -> None:
        group = _group(slug)
        try:
            change(group=group, actor=None, reason=reason)
        except ProvisioningError as error:
            _fail(error)
        click.echo(f"{group.slug}: {group.status.value}")


def _install_status_commands() -> None:
    from timebank.provisioning import lifecycle

    _status_command("suspend", lifecycle.suspend_group,
                    "Suspend a group: readable with a notice, every write refused.")
    _status_command("reactivate", lifecycle.reactivate_group,
                    "Make a suspended or archived group active again.")
    _status_command("archive", lifecycle.archive_group,
                    "Archive a group: its site answers 410 (delete it from the console).")


_install_status_commands()


@network_cli.command("export")
@click.argument("slug")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the ZIP (default: <slug>-export-<time>.zip here).")
def export_command(slug: str, output: Path | None) -> None:
    """Export a group as a ZIP of CSV and JSON (recorded like a console export)."""
    from timebank.portability.export import store, write_zip
    from timebank.provisioning import audit

    group = _group(slug)
    export = GroupExport(group_id=group.id, group_slug=group.slug, status=ExportStatus.DONE,
                         progress=100, created_at=utcnow(), finished_at=utcnow())
    db.session.add(export)
    db.session.flush()
    output = output or Path(export.filename)
    with output.open("w+b") as file:
        write_zip(file, group_id=group.id)
        store(export, file)
    audit.record(actor=None, action="group.export", target=group,
                 details={"export_id": export.id})
    click.echo(f"exported {group.slug} to {output} ({export.size} bytes)")


@network_cli.command("import")
@click.option("--members", "members_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="members.csv, or an export ZIP of this network.")
@click.option("--transfers", "transfers_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True)
@click.option("--slug", required=True)
@click.option("--locale", "default_locale", default="en")
@click.option("--coordinator-email", required=True)
@click.option("--credit-limit", type=float, default=20.0, show_default=True,
              help="Hours below zero a member may go (the new group's default).")
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
def import_command(members_path: Path, transfers_path: Path | None, credit_limit: float,
                   dry_run: bool, **options) -> None:
    """Import a group from CSV (members with balances, or with the transfer history)."""
    from timebank.portability import importer

    with force_locale("en"):
        try:
            members, transfers = importer.read_upload(members_path.read_bytes())
        except ProvisioningError as error:
            _fail(error)
        if transfers_path is not None:
            transfers = transfers_path.read_bytes()
        plan = importer.plan_import(members_data=members, transfers_data=transfers,
                                    credit_limit=round(credit_limit * 60), **options)
        summary = plan.summary()
        click.echo(f"members: {summary['members']} ({summary['new_accounts']} new accounts, "
                   f"{summary['existing_accounts']} existing)")
        click.echo(f"transfers: {summary['transfers']} "
                   f"(skipped, not completed: {summary['skipped_transfers']})")
        if not plan.uses_history:
            click.echo(f"opening balances: {summary['opening_balances']}")
        for problem in plan.problems:
            click.echo(f"PROBLEM {problem}", err=True)
        if plan.problems:
            raise click.ClickException(f"{len(plan.problems)} problem(s): nothing imported")
        if dry_run:
            click.echo("dry run: everything checks out; nothing written")
            raise SystemExit(0)  # exiting rolls the command's transaction back
        try:
            group = importer.import_group(plan=plan, actor=None)
        except ProvisioningError as error:
            _fail(error)
    click.echo(f"imported {group.slug}")


@network_cli.command("check-ledgers")
def check_ledgers_command() -> None:
    """Run ``ledger verify`` on every group and store the results (the console's health)."""
    from timebank.provisioning.lifecycle import record_ledger_checks

    results = run_in_transaction(record_ledger_checks)  # kept even if it then exits 1
    broken = {group_id: count for group_id, count in results.items() if count}
    click.echo(f"{len(results)} group(s) checked, {len(broken)} with problems")
    if broken:
        raise SystemExit(1)
