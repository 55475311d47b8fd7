"""Resolve the tenant from the ``Host`` header before anything else runs.

``slug.BASE_DOMAIN`` serves that group, ``BASE_DOMAIN`` itself the network site. An unknown
slug, or any other host, is a 404; a suspended group is a 410. The result is on ``g.group``
(None on the apex) and in the tenant context var.
"""

import sqlalchemy as sa
from flask import Flask, abort, current_app, g, request

from timebank.extensions import db
from timebank.models import Group, GroupStatus
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
    """``before_request`` hook: set ``g.group`` and the tenant context, or abort."""
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
    group = db.session.scalar(sa.select(Group).where(Group.slug == slug))
    if group is None:
        g.unknown_slug = slug
        abort(404)
    if group.status == GroupStatus.SUSPENDED:
        g.group = group
        abort(410)
    g.group = group
    set_group(group.id)


def register_tenancy(app: Flask) -> None:
    from timebank.tenants.scoping import install_scoping

    install_scoping()
    # Runs first: registered before every other before_request hook.
    app.before_request_funcs.setdefault(None, []).insert(0, resolve_tenant)
