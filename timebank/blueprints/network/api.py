"""A small JSON API for the "start a timebank" form: is this address valid and free?

``GET /api/slugs/check?slug=greenvale[&name=...&place=...]`` answers ``200`` with
``{"slug", "valid", "available", "reason", "message", "suggestions"}`` for a well-formed
question (``available`` false with a ``reason`` of ``taken`` or ``requested``), and an RFC 9457
problem body (``application/problem+json``) for errors: ``400`` without a ``slug``, ``422`` for
a malformed or reserved address (``invalid-params`` names the field; ``suggestions`` are
offered there too).
"""

from flask import jsonify, request
from flask_babel import gettext as _

from timebank.blueprints.network import bp
from timebank.extensions import limiter
from timebank.policy import apex_only
from timebank.provisioning.requests import slug_report

PROBLEM = "application/problem+json"


def problem(status: int, title: str, *, type_: str = "about:blank", **members):
    """Return an RFC 9457 problem response."""
    body = {"type": type_, "title": title, "status": status, **members}
    return jsonify(body), status, {"Content-Type": PROBLEM}


@bp.route("/api/slugs/check")
@apex_only
@limiter.limit("120 per minute")
def check_slug():
    """Say whether a wished address is valid and free, with suggestions when it is not."""
    slug = request.args.get("slug")
    if slug is None or not slug.strip():
        return problem(
            400, _("Give the address to check."), detail=_("The slug parameter is missing."),
            **{"invalid-params": [{"name": "slug", "reason": _("This field is required.")}]},
        )
    report = slug_report(slug[:200], name=request.args.get("name", "")[:120],
                         place=request.args.get("place", "")[:120])
    if not report["valid"]:
        return problem(
            422, _("This address cannot be used."),
            type_=f"urn:timebank:problem:slug-{report['reason']}",
            detail=report["message"],
            **{"invalid-params": [{"name": "slug", "reason": report["message"]}]},
            **{key: report[key] for key in ("slug", "valid", "available", "reason",
                                            "suggestions")},
        )
    return jsonify(report)
