"""Helpers for the "start a timebank" and network console tests."""

import re

import sqlalchemy as sa

from tests.conftest import PASSWORD
from timebank.extensions import db
from timebank.models import Group, GroupRequest, NetworkAuditEvent


def start_form(**overrides) -> dict:
    """The "Start a timebank" form of a visitor (drop the account fields when logged in)."""
    return {
        "name": "Willow Timebank", "slug": "willow", "default_locale": "en",
        "timezone": "Europe/Paris", "place": "Willow Creek", "description": "",
        "your_name": "Wanda Willow", "email": "wanda@example.org",
        "password": PASSWORD, "confirm": PASSWORD,
    } | overrides


def request_row(app, slug: str | None = None, *, request_id: int | None = None) -> dict | None:
    """Return the newest request for ``slug`` (or ``request_id``) as plain values."""
    with app.app_context():
        query = sa.select(GroupRequest).order_by(GroupRequest.id.desc())
        if request_id is not None:
            query = query.where(GroupRequest.id == request_id)
        else:
            query = query.where(GroupRequest.slug == slug)
        row = db.session.scalars(query.limit(1)).first()
        if row is None:
            return None
        return {column.name: getattr(row, column.name) for column in GroupRequest.__table__.c}


def group_count(app, slug: str | None = None) -> int:
    with app.app_context():
        query = sa.select(sa.func.count()).select_from(Group)
        if slug is not None:
            query = query.where(Group.slug == slug)
        return db.session.scalar(query)


def request_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(GroupRequest))


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            sa.select(NetworkAuditEvent.action).order_by(NetworkAuditEvent.id)))


def link_in(message, pattern: str = r"https?://[^\s]+") -> str:
    """Return the first link in a captured message's body."""
    match = re.search(pattern, message.body)
    assert match, message.body
    return match.group(0)


def path_of(url: str) -> str:
    """``http://host/a/b?c`` → ``/a/b?c``."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def set_approval(app, value: bool) -> None:
    from timebank.provisioning.requests import network_settings

    with app.app_context():
        network_settings().groups_need_approval = value
        db.session.commit()
