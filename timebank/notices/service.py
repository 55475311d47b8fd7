"""Choose how one hears of each kind of notice, and deliver a notice the way its reader chose.

Kinds (:class:`~timebank.models.notices.NoticeKind`): transfers that concern me, join requests
(coordinators), balances to settle (treasurers). Delivery
(:class:`~timebank.models.notices.Delivery`): an email at once (the default), a line in the
daily digest of notices (:mod:`timebank.notices.jobs`), or nothing — the badge in the menu and
the pages still show what waits. Mail leaves only after the transaction commits
(:func:`timebank.tasks.enqueue`).
"""

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from timebank.extensions import db
from timebank.i18n import N_
from timebank.models import Group, Membership, MembershipStatus, Role, User
from timebank.models.notices import Delivery, DigestNotice, NoticeKind, NoticePreference
from timebank.tasks import enqueue

JOIN_REQUEST_SUBJECT = N_("%(name)s asks to join %(group_name)s")
TO_SETTLE_SUBJECT = N_("%(name)s is suspended in %(group_name)s with a balance to settle")


def preferences_of(user_id: int) -> dict[NoticeKind, Delivery]:
    """Return user ``user_id``'s delivery for every kind (the default where none is saved)."""
    saved = dict(db.session.execute(
        sa.select(NoticePreference.kind, NoticePreference.delivery)
        .where(NoticePreference.user_id == user_id)
    ).all())
    return {kind: Delivery(saved.get(kind.value, Delivery.IMMEDIATE.value)) for kind in NoticeKind}


def delivery_for(user_id: int, kind: NoticeKind) -> Delivery:
    """Return how user ``user_id`` hears of ``kind``."""
    return preferences_of(user_id)[kind]


def set_preferences(*, user_id: int, choices: dict[NoticeKind, Delivery]) -> None:
    """Save user ``user_id``'s delivery for each kind in ``choices`` (an upsert per kind)."""
    from sqlalchemy.dialects.postgresql import insert

    for kind, delivery in choices.items():
        statement = insert(NoticePreference).values(
            user_id=user_id, kind=NoticeKind(kind).value, delivery=Delivery(delivery).value)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["user_id", "kind"], set_={"delivery": statement.excluded.delivery}))


def announce(*, user: User, kind: NoticeKind, subject_key: str, context: dict, template: str,
             group: Group, link: str) -> Delivery:
    """Tell ``user`` of a notice of ``kind`` as they chose; return how it went.

    ``subject_key`` is an untranslated msgid formatted with ``context`` (plain values); at once,
    ``mail/<template>.txt`` is rendered in their language after commit; for the digest, the
    subject is worded now in their language and kept with ``link``.
    """
    delivery = delivery_for(user.id, kind)
    if delivery == Delivery.IMMEDIATE:
        from timebank.mail import send_templated_mail

        enqueue(send_templated_mail, user.id, template, subject_key,
                {**context, "link": link, "group_slug": group.slug}, group_id=group.id)
    elif delivery == Delivery.DIGEST:
        from timebank.i18n import locale_for_user

        with force_locale(locale_for_user(user, group)):
            text = gettext(subject_key, **context)
        db.session.add(DigestNotice(user_id=user.id, kind=kind.value, group_name=group.name,
                                    text=text, link=link))
    return delivery


def _members_with_role(group: Group, role: Role) -> list[Membership]:
    return list(db.session.scalars(
        sa.select(Membership).where(
            Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE,
            Membership.role >= role)
        .order_by(Membership.id)
    ))


def join_requested(membership: Membership) -> int:
    """Tell the group's coordinators that ``membership`` (pending) asks to join; how many."""
    from timebank.tenants.urls import group_url

    group = db.session.get(Group, membership.group_id)
    coordinators = _members_with_role(group, Role.COORDINATOR)
    for coordinator in coordinators:
        announce(user=coordinator.user, kind=NoticeKind.JOIN_REQUESTS,
                 subject_key=JOIN_REQUEST_SUBJECT, template="notice_join_request",
                 context={"name": membership.user.name, "group_name": group.name},
                 group=group, link=group_url(group.slug, "/members/pending"))
    return len(coordinators)


def balance_to_settle(membership: Membership) -> int:
    """Tell the group's treasurers (and coordinators) that ``membership``, suspended,
    holds a balance to settle; how many were told."""
    from timebank.tenants.urls import group_url

    group = db.session.get(Group, membership.group_id)
    treasurers = [m for m in _members_with_role(group, Role.TREASURER) if m.id != membership.id]
    for treasurer in treasurers:
        announce(user=treasurer.user, kind=NoticeKind.TREASURER,
                 subject_key=TO_SETTLE_SUBJECT, template="notice_to_settle",
                 context={"name": membership.user.name, "group_name": group.name},
                 group=group, link=group_url(group.slug, f"/members/{membership.id}"))
    return len(treasurers)
