"""Helpers shared by the group-administration tests: policy matrix, members, audit, volunteering."""

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from timebank.extensions import db
from timebank.models import Account, AuditEvent, Membership, Role, utcnow
from timebank.tenants import group_context


def in_request(app, group):
    """A request context as ``group`` (a group or its id): services need a locale and the
    tenant."""
    from contextlib import ExitStack

    stack = ExitStack()
    stack.enter_context(app.test_request_context())
    stack.enter_context(group_context(getattr(group, "id", group)))
    return stack


def post_task(app, organizer: Membership, title: str = "Clean the park", *,
              volunteers: int = 3, days_ahead: int = 3) -> int:
    """Post a volunteer task as ``organizer`` (committed to the test transaction); its id."""
    from timebank.volunteering import service as volunteering

    with in_request(app, organizer.group_id):
        task = volunteering.post_task(
            title=title, description="Bring gloves", volunteers_needed=volunteers,
            starts_at=utcnow() + timedelta(days=days_ahead),
            by=db.session.get(Membership, organizer.id))
        db.session.commit()
        return task.id


def pledge(app, member: Membership, task_id: int) -> int:
    """Pledge ``member`` to task ``task_id``; return the pledge id."""
    from timebank.models import VolunteerTask
    from timebank.volunteering import service as volunteering

    with in_request(app, member.group_id):
        row = volunteering.pledge(task=db.session.get(VolunteerTask, task_id),
                                  membership=db.session.get(Membership, member.id))
        db.session.commit()
        return row.id


def invite(app, coordinator: Membership, email: str) -> tuple[int, str]:
    """Invite ``email`` as ``coordinator``; return (invitation id, token)."""
    from timebank.people import invitations

    with in_request(app, coordinator.group_id):
        me = db.session.get(Membership, coordinator.id)
        invitation, token = invitations.invite(group=me.group, email=email, by=me)
        db.session.commit()
        return invitation.id, token


def account_id(app, member: Membership) -> int:
    with app.app_context(), group_context(member.group_id):
        return db.session.scalar(sa.select(Account.id).where(Account.membership_id == member.id))


def audit_actions(app, group) -> list[str]:
    """The group's audit trail actions, oldest first."""
    with app.app_context(), group_context(group.id):
        return list(db.session.scalars(
            sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def audit_events(app, group, action: str) -> list[AuditEvent]:
    with app.app_context(), group_context(group.id):
        rows = list(db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def membership_row(app, member: Membership) -> Membership:
    with app.app_context(), group_context(member.group_id):
        row = db.session.get(Membership, member.id)
        row.user
        db.session.expunge_all()
        return row


@dataclass
class Scenario:
    """Two groups: ``home`` with one member per role and objects of a plain member (``victim``),
    ``away`` with the same kinds of objects. Ids by kind: ``objects[arg][kind]``."""

    home: object
    away: object
    actors: dict[str, Membership]
    outsider: Membership
    victim: Membership
    objects: dict[str, dict[str, object]] = field(default_factory=dict)


ROLE_NAMES = ("member", "organizer", "treasurer", "coordinator")


def build_scenario(app, make_group, make_member, make_transfer) -> Scenario:
    """Create the groups, people and objects the permission matrix requests."""
    from tests.conftest import coordinator_of
    from tests.marketplace_support import make_ad

    home = make_group("matrix")
    away = make_group("elsewhere")
    actors = {role: make_member(home, name=f"Actor {role}", role=role) for role in ROLE_NAMES}
    victim = make_member(home, name="Vera Victim")
    witness = make_member(home, name="Walt Witness")
    outsider = make_member(away, name="Otto Outsider")
    away_member = make_member(away, name="Anna Away")
    home_coordinator = coordinator_of(app, home)
    away_coordinator = coordinator_of(app, away)

    home_task = post_task(app, home_coordinator, volunteers=20)
    away_task = post_task(app, away_coordinator, volunteers=20)
    own_pledges = {role: pledge(app, actors[role], home_task) for role in ROLE_NAMES}
    victim_pledge = pledge(app, victim, home_task)
    away_pledge = pledge(app, away_member, away_task)
    home_invitation, _token = invite(app, home_coordinator, "newcomer@example.org")
    away_invitation, _token = invite(app, away_coordinator, "stranger@example.org")

    objects = {
        "membership_id": {"other": victim.id, "other_group": away_member.id,
                          "own": {role: actors[role].id for role in ROLE_NAMES}},
        "transfer_id": {"other": make_transfer(victim, witness, 30),
                        "other_group": make_transfer(away_member, outsider, 30)},
        "account_id": {"other": account_id(app, victim),
                       "other_group": account_id(app, away_member)},
        "task_id": {"other": home_task, "other_group": away_task},
        "pledge_id": {"other": victim_pledge, "other_group": away_pledge, "own": own_pledges},
        "invitation_id": {"other": home_invitation, "other_group": away_invitation},
        "ad_id": {"other": make_ad(app, victim, "Dog walking"),
                  "other_group": make_ad(app, away_member, "Bike repair")},
    }
    return Scenario(home=home, away=away, actors=actors, outsider=outsider, victim=victim,
                    objects=objects)


def role_of(name: str) -> Role:
    return Role[name.upper()]
