"""Who may do what: one table of (action -> least role), plus object rules.

Every route that reads or writes group data asks :func:`can` (through :func:`require`), so the
rules live here and nowhere else. Roles order ``member < organizer < treasurer < coordinator``
(DESIGN.md, "Identity and roles").
"""

from functools import wraps

from flask import abort, g
from flask_login import current_user

from timebank.models import Membership, Role

# action -> the least role that may perform it (on an active membership of the group).
PERMISSIONS: dict[str, Role] = {
    "dashboard.view": Role.MEMBER,
    "ledger.pay": Role.MEMBER,
    "ledger.view_own": Role.MEMBER,
    "transfer.view": Role.MEMBER,
    "ledger.view_all": Role.TREASURER,
    "ledger.request": Role.MEMBER,
    "ledger.on_behalf": Role.TREASURER,
    "ledger.bulk": Role.TREASURER,
    "ledger.reverse": Role.TREASURER,
    "ledger.issue": Role.TREASURER,
    "ledger.set_limits": Role.TREASURER,
    "ledger.settings": Role.COORDINATOR,
    "currencies.view": Role.MEMBER,
    "currencies.manage": Role.COORDINATOR,
    "members.list": Role.MEMBER,
    "members.view": Role.MEMBER,
    "members.set_limits": Role.TREASURER,
    "members.approve": Role.COORDINATOR,
    "settings.languages": Role.COORDINATOR,
    "marketplace.view": Role.MEMBER,
    "marketplace.post": Role.MEMBER,
    "marketplace.message": Role.MEMBER,
    "marketplace.moderate": Role.COORDINATOR,
    "marketplace.categories": Role.COORDINATOR,
}


def can(membership: Membership | None, action: str) -> bool:
    """Return whether ``membership`` may perform ``action`` (unknown actions: never)."""
    least = PERMISSIONS.get(action)
    return least is not None and membership is not None and membership.has_role(least)


def current_membership() -> Membership | None:
    """Return the logged-in user's membership in the current group (cached on ``g``)."""
    if "membership" not in g:
        g.membership = None
        if getattr(g, "group", None) is not None and current_user.is_authenticated:
            from timebank.people.service import membership_of

            g.membership = membership_of(current_user, g.group)
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

    return wrapped
