"""The category directory (``/marketplace/directory``): every category A–Z with its ad count,
in the reader's alphabetical order (issue 17)."""

import unicodedata

import sqlalchemy as sa
from flask import render_template

from timebank.blueprints.marketplace import bp
from timebank.extensions import db
from timebank.marketplace import search
from timebank.marketplace import service as marketplace
from timebank.models import Ad
from timebank.policy import require


def sort_key(name: str) -> tuple[str, str]:
    """Order names as a reader expects: accents and case aside ("Ébano" beside "Ebro")."""
    plain = "".join(char for char in unicodedata.normalize("NFKD", name)
                    if not unicodedata.combining(char))
    return plain.casefold(), name


def alphabetical_categories():
    """Return the current group's categories sorted by name in the reader's alphabet."""
    return sorted(marketplace.categories(), key=lambda category: sort_key(category.name))


def ad_counts() -> dict[int, int]:
    """Return {category id: number of ads a member can see in it} for the current group."""
    visible = search.visible_ads().with_only_columns(Ad.category_id).subquery()
    return dict(db.session.execute(
        sa.select(visible.c.category_id, sa.func.count())
        .where(visible.c.category_id.is_not(None))
        .group_by(visible.c.category_id)
    ).all())


@bp.route("/directory")
@require("marketplace.view")
def directory():
    """Every category A–Z under its initial, with how many ads it holds."""
    counts = ad_counts()
    letters: dict[str, list] = {}
    for category in alphabetical_categories():
        initial = (sort_key(category.name)[0][:1] or "#").upper()
        letters.setdefault(initial, []).append((category, counts.get(category.id, 0)))
    return render_template("marketplace/directory.html", letters=letters)
