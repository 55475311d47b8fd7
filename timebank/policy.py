"""Who may do what: one table of (action -> least role), plus object rules.

Every route that reads or writes group data asks :func:`can` (through :func:`require`), so the
rules live here and nowhere else. Roles order ``member < organizer < treasurer < coordinator``
(DESIGN.md, "Identity and roles").

* :data:`PERMISSIONS`: action -> the least role;
* :data:`GROUP_RULES`: a group setting that lowers an action's least role;
* :data:`OBJECT_RULES`: action -> predicate on the target (own pledge, not oneself...);
* :data:`PUBLIC_ENDPOINTS`: the group routes that need no action, each with its reason.

``tests/test_policy_matrix.py`` generates the role x action x object matrix from the route map
and checks every route against these tables.
"""

from collections.abc import Callable
from functools import wraps

import sqlalchemy as sa
from flask import abort, g
from flask_login import current_user

from timebank.extensions import db
from timebank.models import Account, Membership, Role, Transfer

# action -> the least role that may perform it (on an active membership of the group).
PERMISSIONS: dict[str, Role] = {
    "dashboard.view": Role.MEMBER,
    "ledger.pay": Role.MEMBER,
    "ledger.view_own": Role.MEMBER,
    "transfer.view": Role.MEMBER,
    "ledger.request": Role.MEMBER,
    "ledger.on_behalf": Role.TREASURER,
    "ledger.bulk": Role.TREASURER,
    "ledger.reverse": Role.TREASURER,
    "ledger.issue": Role.TREASURER,
    "ledger.set_limits": Role.TREASURER,
    "ledger.set_levy": Role.TREASURER,  # a currency's levy on transfers (timebank/ledger/levies.py)
    "currencies.view": Role.MEMBER,
    "currencies.manage": Role.COORDINATOR,
    "members.list": Role.MEMBER,
    "members.view": Role.MEMBER,
    "members.approve": Role.COORDINATOR,
    "settings.languages": Role.COORDINATOR,
    "marketplace.view": Role.MEMBER,
    "marketplace.post": Role.MEMBER,
    "marketplace.message": Role.MEMBER,
    "marketplace.moderate": Role.COORDINATOR,
    "marketplace.categories": Role.COORDINATOR,
    "group.export": Role.COORDINATOR,
    # Running a group (issue 6).
    "members.change_role": Role.COORDINATOR,  # object rule: never demote the last coordinator
    "members.suspend": Role.COORDINATOR,  # suspend and reactivate; object rule: not oneself
    "members.invite": Role.COORDINATOR,
    "members.add_offline": Role.COORDINATOR,
    "members.leave": Role.MEMBER,  # object rule: one's own membership only
    "members.settle": Role.TREASURER,  # move a leaving member's balance to the group account
    "members.view_balances": Role.TREASURER,  # group rule: members too if balances are public
    "transfers.view_all": Role.TREASURER,  # group rule: members too if the group says so
    "audit.view": Role.COORDINATOR,
    "settings.general": Role.COORDINATOR,
    "coordinator.dashboard": Role.COORDINATOR,
    "volunteering.view": Role.MEMBER,
    "volunteering.pledge": Role.MEMBER,
    "volunteering.withdraw": Role.MEMBER,  # object rule: one's own pledge only
    "volunteering.post": Role.ORGANIZER,
    "volunteering.complete": Role.ORGANIZER,  # mark a volunteer's part done: kudos
    "volunteering.cancel": Role.ORGANIZER,
    "kudos.view": Role.MEMBER,
    "notices.choose": Role.MEMBER,  # one's own notice preferences (issue 17)
    "trading.pay": Role.MEMBER,  # pay a member of another group (issue 18)
    "trading.manage": Role.COORDINATOR,  # opt in, partners, bounds; the network position
    "api.tokens": Role.MEMBER,  # one's own personal access tokens (issue 19)
    # Money that moves by itself (issue 20). Who may cancel one order (its payer or a
    # treasurer) depends on the order: timebank.schedules.service.may_cancel.
    "schedules.view_own": Role.MEMBER,  # one's standing orders, as payer and as payee
    "schedules.create": Role.MEMBER,  # a standing order from one's own account
    "schedules.cancel": Role.MEMBER,  # one's own order (a treasurer: any)
    "schedules.manage": Role.TREASURER,  # every order; set one up on a member's behalf
    "schedules.charges": Role.TREASURER,  # a currency's membership fee and demurrage
    "reports.view": Role.TREASURER,  # figures over a date range, CSV and PDF; coordinators too
    "settings.federation": Role.COORDINATOR,  # publish offers and wants to the fediverse
}


# Group rules: a group setting (a boolean on Group) that lowers an action's least role.
GROUP_RULES: dict[str, tuple[str, Role]] = {
    "members.view_balances": ("balances_public", Role.MEMBER),
    "transfers.view_all": ("members_see_all_transfers", Role.MEMBER),
}


def _own_membership(membership: Membership, target) -> bool:
    return getattr(target, "id", None) == membership.id


def _not_oneself(membership: Membership, target) -> bool:
    return getattr(target, "id", None) != membership.id


def _own_pledge(membership: Membership, target) -> bool:
    return getattr(target, "membership_id", None) == membership.id


# Object rules: action -> predicate(acting membership, target object), asked on top of the
# role when a target is given. Rules that depend on other rows (the last coordinator, a
# non-zero balance) are checked by the services, which raise typed errors.
OBJECT_RULES: dict[str, Callable[[Membership, object], bool]] = {
    "members.leave": _own_membership,
    "members.suspend": _not_oneself,
    "volunteering.withdraw": _own_pledge,
}


def can(membership: Membership | None, action: str, target: object | None = None) -> bool:
    """Return whether ``membership`` may perform ``action`` (on ``target``, if given).

    Unknown actions: never. A target of another group: never. Then the least role in
    :data:`PERMISSIONS` (lowered by :data:`GROUP_RULES` when the group's setting is on) and,
    with a target, the action's :data:`OBJECT_RULES` predicate.
    """
    least = PERMISSIONS.get(action)
    if least is None or membership is None:
        return False
    target_group = getattr(target, "group_id", None)
    if target is not None and target_group is not None and target_group != membership.group_id:
        return False
    rule = GROUP_RULES.get(action)
    if rule is not None and getattr(membership.group, rule[0], False):
        least = min(least, rule[1])
    if not membership.has_role(least):
        return False
    if target is not None and action in OBJECT_RULES:
        return OBJECT_RULES[action](membership, target)
    return True


def transfers_seen_by(membership: Membership) -> sa.ColumnElement[bool]:
    """Return the SQL condition on :class:`Transfer` for the transfers ``membership`` may see.

    The rule (one place, for the pages and the API): one's own — as payer, payee or starter —
    and everyone's with ``transfers.view_all`` (treasurers; every member when the group's
    ``members_see_all_transfers`` is on). Another group's transfers are left out by the
    tenant scoping of the query this condition goes into.
    """
    if can(membership, "transfers.view_all"):
        return sa.true()
    mine = sa.select(Account.id).where(Account.membership_id == membership.id)
    return sa.or_(Transfer.payer_account_id.in_(mine), Transfer.payee_account_id.in_(mine),
                  Transfer.starter_id == membership.id)


def sees_transfer(membership: Membership | None, transfer: Transfer) -> bool:
    """Return whether ``membership`` may see ``transfer`` (:func:`transfers_seen_by`)."""
    if membership is None or transfer.group_id != membership.group_id:
        return False
    if can(membership, "transfers.view_all"):
        return True
    return bool(db.session.scalar(sa.select(sa.exists().where(
        Transfer.id == transfer.id, transfers_seen_by(membership)))))


def current_membership() -> Membership | None:
    """Return the logged-in user's membership in the current group (cached on ``g``).

    Loading the user from the session loads it in the same statement
    (:mod:`timebank.auth_loader`); a user logged in during this request costs one query."""
    is_authenticated = current_user.is_authenticated  # may load the user and the membership
    if "membership" not in g:
        g.membership = None
        if getattr(g, "group", None) is not None and is_authenticated:
            g.membership = db.session.scalar(
                sa.select(Membership).where(Membership.user_id == current_user.id,
                                            Membership.group_id == g.group.id)
            )
    return g.membership


def require(action: str):
    """Decorate a group route: 404 on the apex, log in first, then 403 unless :func:`can`.

    A logged-in user with no active membership is sent to the group's join page.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            from flask import redirect, url_for

            from timebank.extensions import login_manager

            if getattr(g, "group", None) is None:
                abort(404)
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            membership = current_membership()
            if membership is None or not membership.is_active:
                return redirect(url_for("auth.join"))
            if not can(membership, action):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_action = action
        wrapped.policy_scope = "group"
        return wrapped

    return decorator


def group_only(view):
    """Decorate a route that exists only on a group's site (404 on the apex)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if getattr(g, "group", None) is None:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def apex_only(view):
    """Decorate a route that exists only on the network site (404 on a group's site)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if getattr(g, "group", None) is not None:
            abort(404)
        return view(*args, **kwargs)

    wrapped.policy_scope = "apex"
    return wrapped


def network_admin_required(view):
    """Decorate an apex route for network admins only (log in first, then 403)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        from timebank.extensions import login_manager

        if getattr(g, "group", None) is not None:
            abort(404)
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_network_admin:
            abort(403)
        return view(*args, **kwargs)

    wrapped.policy_scope = "apex"
    return wrapped


# Endpoints that take no @require, each with the reason; the policy matrix test
# (tests/test_policy_matrix.py) fails on any route that neither requires an action, nor is
# apex-only (apex_only, network_admin_required: 404 on a group's site), nor is listed here.
PUBLIC_ENDPOINTS: dict[str, str] = {
    "static": "static files",
    "bootstrap.static": "static files",
    "network.index": "the network's landing page, or a group's public home page",
    "auth.login": "logging in, on any site",
    "auth.logout": "logging out",
    "auth.logout_everywhere": "ending every login of one's own account (login required)",
    "auth.unlock_account": "the emailed link that unlocks an account (signed token)",
    "security.login_code": "the second step of login (a pending login in the session)",
    "security.two_factor": "one's own second factor (login required)",
    "security.new_recovery_codes": "one's own recovery codes (login required)",
    "security.two_factor_off": "turning off one's own second factor (login required)",
    "auth.signup": "a visitor signs up and asks to join",
    "auth.confirm_signup": "the emailed sign-up link (signed token)",
    "auth.join": "a logged-in user asks to join (login required)",
    "auth.forgot_password": "password reset, for anyone",
    "auth.reset_password": "password reset link (signed token)",
    "auth.change_password": "the user's own password (login required)",
    "auth.profile": "the user's own profile (login required)",
    "auth.set_language": "choosing a language",
    "ledger.issuance": "an issued currency's public issuance record",
    "network.redeem_handoff": "single-use cross-host login token",
    "members.invitation": "an invitation link (whoever holds the token)",
    "settings.logo": "the group's logo image",
    # The public API (issue 19): its operations carry their own action (timebank.api.core).
    "api-docs.openapi_json": "the API's OpenAPI document",
    "api_docs.page": "the API's interactive documentation",
    "api_docs.asset": "the documentation's script and style files",
    "activitypub.webfinger": "WebFinger: a group's fediverse address (opt-in)",
    "activitypub.actor": "the group's ActivityPub actor (opt-in, public offers only)",
    "activitypub.outbox": "the group's public offers and wants as ActivityPub (opt-in)",
    "activitypub.note": "one public offer or want as ActivityPub (opt-in)",
    "activitypub.inbox": "a fediverse server's Follow (HTTP-signed by the follower; opt-in)",
    "activitypub.followers": "how many follow the group on the fediverse (opt-in; no names)",
}
