"""``flask api``: tokens for scripts and CI, and a group's choice to publish over ActivityPub."""

import click
import sqlalchemy as sa

from timebank.boundary import TransactionalGroup
from timebank.extensions import db
from timebank.models import Group, Membership, User
from timebank.tenants import group_context

api_cli = TransactionalGroup("api", help="The public API: access tokens, federation.")


def _group(slug: str) -> Group:
    group = db.session.scalar(sa.select(Group).where(Group.slug == slug))
    if group is None:
        raise click.ClickException(f"No group has the slug {slug!r}.")
    return group


@api_cli.command("create-token")
@click.option("--group", "slug", default=None,
              help="The group's slug; without it, an apex token (the network's API, /me).")
@click.option("--email", required=True, help="The person the token acts as.")
@click.option("--scopes", default="read", show_default=True, help="read, write or read,write")
@click.option("--days", type=int, default=90, show_default=True,
              help="Days until it expires (1-366).")
@click.option("--name", default="command line", show_default=True)
def create_token(slug: str | None, email: str, scopes: str, days: int, name: str):
    """Make a personal access token; the token alone is printed on the last line.

    With ``--group`` it acts as the person's membership on that group's host; without it,
    it is an apex token: on the apex, for their own memberships and, for network admins, the
    network's groups and requests.
    """
    from timebank.api.tokens import TokenError, create_apex_token
    from timebank.api.tokens import create_token as make

    if slug is None:
        user = db.session.scalar(
            sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"No one has the email {email}.")
        try:
            token, raw = create_apex_token(user=user, name=name, scopes=scopes.split(","),
                                           days=days)
        except TokenError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Apex token {token.prefix}… for {email}, scopes "
                   f"{','.join(token.scopes)}, expires {token.expires_at:%Y-%m-%d}:")
        click.echo(raw)
        return
    group = _group(slug)
    with group_context(group.id):
        membership = db.session.scalar(
            sa.select(Membership).join(User, User.id == Membership.user_id)
            .where(sa.func.lower(User.email) == email.strip().lower()))
        if membership is None:
            raise click.ClickException(f"{email} is not a member of {slug}.")
        try:
            token, raw = make(membership=membership, name=name, scopes=scopes.split(","),
                              days=days)
        except TokenError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Token {token.prefix}… for {email} in {slug}, scopes "
                   f"{','.join(token.scopes)}, expires {token.expires_at:%Y-%m-%d}:")
    click.echo(raw)


@api_cli.command("federation")
@click.argument("slug")
@click.option("--on/--off", "publish", default=True,
              help="Publish the group's public offers and wants over ActivityPub, or stop.")
def federation(slug: str, publish: bool):
    """Turn the group's ActivityPub actor and outbox on or off."""
    from timebank.federation.service import set_publishing

    group = _group(slug)
    with group_context(group.id):
        set_publishing(publish)
    click.echo(f"{slug}: ActivityPub {'on' if publish else 'off'}")
