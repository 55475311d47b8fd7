"""Resolve the tenant from the ``Host`` header before anything else runs.

``slug.BASE_DOMAIN`` serves that group, ``BASE_DOMAIN`` itself the network site. An unknown
slug, or any other host, is a 404. A suspended group stays readable (its pages show a notice)
but every write (POST, PUT, PATCH, DELETE) gets a 423 page, except logging in and out and
choosing a language, which write nothing of the group's; a page that writes as it is viewed
asks :func:`is_read_only` and skips the write. An archived group is a 410. The result is on
``g.group`` (None on the apex) and in the tenant context var.
"""

from flask import Flask, abort, current_app, g, jsonify, render_template, request

from timebank.extensions import db
from timebank.models import GroupStatus
from timebank.tenants.cache import group_for_slug
from timebank.tenants.context import set_group


def slug_from_host(host: str, base_domain: str) -> str | None:
    """Return the group slug in ``host``, ``""`` for the apex, or None for a foreign host.

    >>> slug_from_host("greenvale.localhost:5000", "localhost:5000")
    'greenvale'
    """
    host = host.lower().strip()
    base = base_domain.lower()
    if host == base or host == f"www.{base}":
        return ""
    suffix = "." + base
    if host.endswith(suffix):
        slug = host[: -len(suffix)]
        if slug and "." not in slug:
            return slug
    return None


def resolve_tenant() -> None:
    """``before_request`` hook: set ``g.group`` and the tenant context, or abort (or answer
    for a suspended or archived group)."""
    set_group(None)
    g.group = None
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static"):  # CSS/JS, also on error pages
        return
    slug = slug_from_host(request.host, current_app.config["BASE_DOMAIN"])
    if slug is None:
        abort(404)
    if slug == "":
        return
    group = group_for_slug(slug)  # kept by this process, or one query
    if group is None:
        g.unknown_slug = slug
        abort(404)
    g.group = group
    if group.status == GroupStatus.ARCHIVED:
        return _refusal(410, "network/group_closed.html")
    set_group(group.id)
    if (
        group.status == GroupStatus.SUSPENDED
        and request.method in WRITE_METHODS
        and endpoint not in WRITES_WHILE_SUSPENDED
    ):
        return _refusal(423, "network/group_suspended.html")


def is_read_only() -> bool:
    """Return whether the current request's group is suspended: its pages still show, but
    nothing of the group's is written, not even by a page view (marking messages read)."""
    group = getattr(g, "group", None)
    return group is not None and group.status == GroupStatus.SUSPENDED


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Writes that touch no group data (the session, the user's own language), allowed while a
# group is suspended so members can still log in and read.
WRITES_WHILE_SUSPENDED = frozenset({"auth.login", "auth.logout", "auth.set_language"})


def _refusal(status: int, template: str):
    """Answer a suspended group's write (423) or an archived group's page (410): a page for
    people, an RFC 9457 problem body for API clients."""
    from flask_babel import gettext as _

    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        title = (_("This timebank is suspended: nothing can be changed now.") if status == 423
                 else _("This timebank is closed."))
        body = {"type": "about:blank", "title": title, "status": status}
        return jsonify(body), status, {"Content-Type": "application/problem+json"}
    return render_template(template, group=g.group), status


def register_tenancy(app: Flask) -> None:
    from timebank.tenants.cache import install_group_cache
    from timebank.tenants.rls import install_row_security
    from timebank.tenants.scoping import install_scoping

    install_scoping()
    install_group_cache()
    with app.app_context():
        install_row_security(db.engine, app.config.get("DATABASE_APP_ROLE"))
    # Runs first: registered before every other before_request hook.
    app.before_request_funcs.setdefault(None, []).insert(0, resolve_tenant)
