"""Absolute URLs on the network site and on each group's site (for mail, hand-offs, commands).

Features build links here, not in :mod:`timebank.templating`, which sits above every feature.
"""

from flask import current_app


def network_url(path: str = "/") -> str:
    """Return an absolute URL on the network site (the apex), e.g. ``http://localhost:5000/``."""
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    return f"{scheme}://{current_app.config['BASE_DOMAIN']}{path}"


def group_url(slug: str, path: str = "/") -> str:
    """Return an absolute URL on a group's site, e.g. ``http://greenvale.localhost:5000/``."""
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    return f"{scheme}://{slug}.{current_app.config['BASE_DOMAIN']}{path}"
