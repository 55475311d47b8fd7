"""Helpers shared by the marketplace tests (tests/test_marketplace_*.py)."""

import io
import os
import re
from datetime import datetime

import pytest
import sqlalchemy as sa
from PIL import Image

from timebank.extensions import db
from timebank.marketplace import service as marketplace
from timebank.marketplace.search import trigram_available
from timebank.models import Ad, AdKind, Category, Currency, GoodsOrService, Membership, PriceUnit
from timebank.tenants import all_groups, group_context


def make_ad(app, member: Membership, title: str, *, kind: str = "offer", body: str = "",
            tags=None, category: str | None = None, price: int | None = None,
            unit: str = "one_off", goods: bool = False, created_at: datetime | None = None,
            status: str | None = None) -> int:
    """Post an ad through the service (committed to the test transaction); return its id.

    ``price`` is in subunits of the group's default currency; ``category`` a category name.
    """
    with app.test_request_context(), group_context(member.group_id):
        author = db.session.get(Membership, member.id)
        category_id = None
        if category:
            category_id = db.session.scalar(sa.select(Category.id).where(Category.name == category))
        currency_id = None
        if price is not None:
            currency_id = db.session.scalar(sa.select(sa.func.min(Currency.id)))
        ad = marketplace.create_ad(
            author=author, kind=AdKind(kind), title=title, body=body, tags=tags,
            category_id=category_id,
            goods_or_service=GoodsOrService.GOODS if goods else GoodsOrService.SERVICE,
            price_amount=price, price_currency_id=currency_id,
            price_unit=PriceUnit(unit) if price is not None else None,
        )
        if created_at is not None:
            ad.created_at = created_at
        if status is not None:
            ad.status = status
        db.session.commit()
        return ad.id


def ad_count(app) -> int:
    """Return the number of ads in every group."""
    with app.app_context(), all_groups():
        return db.session.scalar(sa.text("SELECT count(*) FROM ads"))


def load_ad(app, group_id: int, ad_id: int) -> Ad | None:
    with app.app_context(), group_context(group_id):
        ad = db.session.get(Ad, ad_id)
        if ad is not None:
            ad.author, ad.category, ad.price_currency  # noqa: B018 - load before detaching
            db.session.expunge_all()
        return ad


def ad_ids(html: str) -> list[int]:
    """Return the ids of the ad cards on a page, in order."""
    return [int(found) for found in re.findall(r'data-ad-id="(\d+)"', html)]


def image_bytes(fmt: str = "PNG", size=(64, 48), color=(200, 30, 30)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, color).save(output, format=fmt)
    return output.getvalue()


def requires_trigram(app):
    """Skip a test that needs pg_trgm where the extension is missing.

    Under ``CI`` with a real server (``DATABASE_URL`` set) a missing pg_trgm is a failure, not
    a skip. The embedded fallback server (no ``DATABASE_URL``) never ships it, so CI's
    fresh-machine run skips these tests too.
    """
    with app.app_context():
        available = trigram_available()
    if not available:
        if os.environ.get("CI") and os.environ.get("DATABASE_URL"):
            pytest.fail("pg_trgm is not installed in the test database (CI must have it)")
        pytest.skip("pg_trgm is not available (embedded PostgreSQL): typo tolerance not tested")
