"""Home pages: the network's landing page on the apex, a group's home page on its site."""

from flask import g, redirect, render_template, request, url_for

from timebank.blueprints.network import bp
from timebank.policy import current_membership
from timebank.provisioning.overview import public_groups

PER_PAGE = 30


PUBLIC_ADS = 12


def public_group_page() -> dict:
    """What a visitor sees of the current group: its issued currencies (each with a public
    issuance record) and, when the group allows it, its newest offers and wants."""
    from timebank.extensions import db
    from timebank.ledger import service as ledger
    from timebank.marketplace import search
    from timebank.models import Ad, CurrencyKind

    issued = [c for c in ledger.active_currencies() if c.kind == CurrencyKind.ISSUED]
    ads = []
    if g.group.ads_public:
        ads = db.session.scalars(
            search.visible_ads().order_by(Ad.created_at.desc(), Ad.id.desc()).limit(PUBLIC_ADS)
        ).all()
    return {"issued_currencies": issued, "public_ads": ads}


def page_arg() -> int:
    """Return the ``page`` query argument as a positive int (1 when missing or bad)."""
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


@bp.route("/")
def index():
    """Network landing page on the apex; the group's home page on a group's site."""
    if g.group is not None:
        membership = current_membership()
        if membership is not None and membership.is_active:
            return redirect(url_for("ledger.dashboard"))
        return render_template("network/group_home.html", group=g.group, membership=membership,
                               **public_group_page())
    search = request.args.get("q", "").strip()[:100]
    page = page_arg()
    groups, total = public_groups(search=search, page=page, per_page=PER_PAGE)
    return render_template("network/index.html", groups=groups, total=total, search=search,
                           page=page, pages=max(1, -(-total // PER_PAGE)))
