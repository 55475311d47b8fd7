"""Ads: posting and editing through the forms, permissions, pause and renew, filters and sorts,
default categories, photos, and bad input that must store nothing."""

import html
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image

from tests.conftest import coordinator_of, walk_pager
from tests.marketplace_support import ad_count, ad_ids, image_bytes, load_ad, make_ad
from timebank.extensions import db
from timebank.marketplace import photos
from timebank.models import Ad, AdStatus, Category, Membership, MembershipStatus, utcnow
from timebank.tenants import group_context


@pytest.fixture
def uploads(app, tmp_path):
    """Point UPLOAD_FOLDER at a fresh temporary folder for this test."""
    previous = app.config.get("UPLOAD_FOLDER")
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = previous


@pytest.fixture
def greenvale(make_group, make_member):
    group = make_group("greenvale")
    return group, make_member(group, name="Ann"), make_member(group, name="Ben")


def _category_ids(app, group) -> dict[str, int]:
    with app.app_context(), group_context(group.id):
        return {c.name: c.id for c in db.session.scalars(sa.select(Category))}


def _form(**overrides) -> dict:
    data = {"kind": "offer", "title": "Fresh vegetables", "body": "From my *garden*.",
            "category": "0", "tags": "food, garden", "goods_or_service": "goods",
            "price_amount": "", "price_unit": "one_off"}
    data.update(overrides)
    return data


def test_provisioning_creates_translated_default_categories(app, make_group):
    english = make_group("oakdale")
    spanish = make_group("robledo", locale="es")
    with app.test_request_context():
        with force_locale("es"):
            expected_spanish = _("Home and garden")
    assert "Home and garden" in _category_ids(app, english)
    names = _category_ids(app, spanish)
    assert expected_spanish in names
    assert len(names) == len(_category_ids(app, english)) >= 8


def test_member_posts_an_offer_and_others_see_it(app, greenvale, client_for, login):
    group, ann, ben = greenvale
    client = login(client_for("greenvale"), ann.user.email)
    garden = _category_ids(app, group)["Home and garden"]
    response = client.post("/marketplace/new", data=_form(
        category=str(garden), price_amount="1:30", price_currency=_currency_id(app, group),
        price_unit="per_hour",
    ))
    assert response.status_code == 302, response.get_data(as_text=True)
    ad_id = int(response.headers["Location"].rsplit("/", 1)[1])
    ad = load_ad(app, group.id, ad_id)
    assert (ad.title, ad.kind, ad.tags, ad.price_amount, ad.price_unit) == (
        "Fresh vegetables", "offer", ["food", "garden"], 90, "per_hour")
    assert ad.category_id == garden
    assert ad.expires_at - utcnow() > timedelta(days=89)

    other = login(client_for("greenvale"), ben.user.email)
    page = other.get(f"/marketplace/ads/{ad_id}").get_data(as_text=True)
    assert "<em>garden</em>" in page and "1:30 h per hour" in page
    link = f"/pay?to={ann.id}&ad={ad_id}&description=Fresh+vegetables&amount=1:30&currency=HOUR"
    assert link in html.unescape(page)
    assert ad_id in ad_ids(other.get("/marketplace/").get_data(as_text=True))


def _currency_id(app, group) -> str:
    from timebank.models import Currency

    with app.app_context(), group_context(group.id):
        return str(db.session.scalar(sa.select(sa.func.min(Currency.id))))


def test_markdown_is_rendered_without_script(app, greenvale, client_for, login):
    group, ann, ben = greenvale
    ad_id = make_ad(app, ann, "Piano lessons", body=(
        "**Fun** lessons <script>alert('x')</script> [site](javascript:alert(1)) "
        '<img src=x onerror="alert(2)"> [ok](https://example.org)'))
    page = login(client_for("greenvale"), ben.user.email).get(f"/marketplace/ads/{ad_id}")
    body = page.get_data(as_text=True)
    assert "<strong>Fun</strong>" in body
    assert "<script>alert" not in body and "javascript:" not in body and "onerror" not in body
    assert 'href="https://example.org" rel="nofollow noopener ugc"' in body


@pytest.mark.parametrize("overrides, field_error", [
    ({"title": "x" * 10_000}, "Field cannot be longer than 120 characters."),
    ({"title": "   "}, "This field is required."),
    ({"category": "999999"}, "Not a valid choice"),
    ({"category": "abc"}, "could not coerce"),
    ({"kind": "bribe"}, "Not a valid choice"),
    ({"goods_or_service": "slaves"}, "Not a valid choice"),
    ({"price_amount": "-5"}, "Enter a positive amount."),
    ({"price_amount": "lots"}, "Enter an amount like"),
    ({"tags": ",".join(f"tag{n}" for n in range(11))}, "at most 10 tags"),
    ({"body": "b" * 10_001}, "Field cannot be longer than 10000 characters."),
])
def test_bad_ad_input_is_a_form_error_and_stores_nothing(
    app, greenvale, client_for, login, overrides, field_error, uploads
):
    group, ann, _ben = greenvale
    client = login(client_for("greenvale"), ann.user.email)
    before = ad_count(app)
    data = _form(price_currency=_currency_id(app, group), **overrides)
    response = client.post("/marketplace/new", data=data)
    assert response.status_code == 200
    assert field_error in response.get_data(as_text=True)
    assert ad_count(app) == before


def test_another_groups_category_is_unknown(app, greenvale, make_group, client_for, login):
    group, ann, _ben = greenvale
    other = make_group("elsewhere")
    foreign = next(iter(_category_ids(app, other).values()))
    client = login(client_for("greenvale"), ann.user.email)
    before = ad_count(app)
    response = client.post("/marketplace/new", data=_form(category=str(foreign)))
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    assert ad_count(app) == before


def test_only_author_and_coordinators_edit(app, greenvale, client_for, login):
    group, ann, ben = greenvale
    ad_id = make_ad(app, ann, "Bike repair")
    ben_client = login(client_for("greenvale"), ben.user.email)
    assert ben_client.get(f"/marketplace/ads/{ad_id}/edit").status_code == 404
    assert ben_client.post(f"/marketplace/ads/{ad_id}/edit",
                           data=_form(title="Hijacked")).status_code == 404
    assert ben_client.post(f"/marketplace/ads/{ad_id}/pause").status_code == 404
    assert load_ad(app, group.id, ad_id).title == "Bike repair"

    coordinator = coordinator_of(app, group)
    coord_client = login(client_for("greenvale"), coordinator.user.email)
    response = coord_client.post(f"/marketplace/ads/{ad_id}/edit",
                                 data=_form(title="Bike repairs (checked)"))
    assert response.status_code == 302
    assert load_ad(app, group.id, ad_id).title == "Bike repairs (checked)"


def test_pause_hides_and_renew_restores_in_one_click(app, greenvale, client_for, login):
    group, ann, ben = greenvale
    ad_id = make_ad(app, ann, "Dog walking")
    ann_client = login(client_for("greenvale"), ann.user.email)
    ben_client = login(client_for("greenvale"), ben.user.email)
    assert ann_client.post(f"/marketplace/ads/{ad_id}/pause").status_code == 302
    assert load_ad(app, group.id, ad_id).status == AdStatus.PAUSED
    assert ad_id not in ad_ids(ben_client.get("/marketplace/").get_data(as_text=True))
    assert ben_client.get(f"/marketplace/ads/{ad_id}").status_code == 404
    assert ann_client.get(f"/marketplace/ads/{ad_id}").status_code == 200  # the author still can

    # Expired a while ago: renewing makes it active for the full lifetime again.
    with app.app_context(), group_context(group.id):
        db.session.execute(sa.update(Ad).where(Ad.id == ad_id).values(
            status=AdStatus.EXPIRED, expires_at=utcnow() - timedelta(days=3)))
        db.session.commit()
    assert ann_client.post(f"/marketplace/ads/{ad_id}/renew").status_code == 302
    ad = load_ad(app, group.id, ad_id)
    assert ad.status == AdStatus.ACTIVE and ad.expires_at > utcnow() + timedelta(days=89)
    assert ad_id in ad_ids(ben_client.get("/marketplace/").get_data(as_text=True))


def test_suspended_members_ads_are_hidden(app, greenvale, client_for, login):
    group, ann, ben = greenvale
    ad_id = make_ad(app, ann, "Sourdough bread")
    with app.app_context(), group_context(group.id):
        db.session.get(Membership, ann.id).status = MembershipStatus.SUSPENDED
        db.session.commit()
    client = login(client_for("greenvale"), ben.user.email)
    assert ad_id not in ad_ids(client.get("/marketplace/").get_data(as_text=True))
    assert ad_id not in ad_ids(client.get("/marketplace/?q=bread").get_data(as_text=True))
    assert client.get(f"/marketplace/ads/{ad_id}").status_code == 404


def test_filters_and_sorts(app, greenvale, make_member, make_transfer, client_for, login):
    group, ann, ben = greenvale
    cai = make_member(group, name="Cai")
    now = utcnow()
    tools = make_ad(app, ann, "Lend tools", goods=True, category="Repairs and DIY",
                    created_at=now - timedelta(days=3))
    lift = make_ad(app, ben, "Need a lift to town", kind="want", category="Transport",
                   created_at=now - timedelta(days=2))
    soup = make_ad(app, cai, "Soup on Sundays", goods=True, created_at=now - timedelta(days=1))
    with app.app_context(), group_context(group.id):
        db.session.execute(sa.update(Ad).where(Ad.id == lift).values(
            expires_at=now + timedelta(days=1)))
        db.session.commit()
    make_transfer(ann, cai, 120)  # Ann -120, Ben 0, Cai +120
    client = login(client_for("greenvale"), ben.user.email)

    def ids(query: str) -> list[int]:
        return ad_ids(client.get("/marketplace/" + query).get_data(as_text=True))

    assert ids("") == [soup, lift, tools]  # newest first
    assert ids("?kind=want") == [lift]
    assert ids("?kind=offer") == [soup, tools]
    assert ids("?type=goods") == [soup, tools]
    assert ids(f"?category={_category_ids(app, group)['Transport']}") == [lift]
    assert ids(f"?member={cai.id}") == [soup]
    assert ids("?sort=expiry")[0] == lift
    assert ids("?sort=balance") == [tools, lift, soup]  # Ann -2h, Ben 0, Cai +2h
    # Nonsense filter values are ignored rather than failing.
    assert client.get("/marketplace/?kind=zzz&category=x&sort=drop&page=-4").status_code == 200


def test_photo_is_resized_stored_and_served_to_the_group_only(
    app, greenvale, make_group, make_member, client_for, login, uploads
):
    group, ann, ben = greenvale
    other_group = make_group("faraway")
    stranger = make_member(other_group, name="Stranger")
    client = login(client_for("greenvale"), ann.user.email)
    big = image_bytes("PNG", size=(3000, 1500))
    response = client.post("/marketplace/new", data=_form(photo=(io.BytesIO(big), "veg.png")),
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    ad_id = int(response.headers["Location"].rsplit("/", 1)[1])
    stored = load_ad(app, group.id, ad_id).photo_path
    assert stored.startswith(f"{group.id}/") and (uploads / stored).is_file()

    served = login(client_for("greenvale"), ben.user.email).get(f"/marketplace/photos/{ad_id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    # Never kept by a shared cache; logged-in responses are not stored at all (issue 15).
    assert "no-store" in served.headers["Cache-Control"]
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.format == "JPEG" and max(image.size) == photos.MAX_SIDE

    foreign = login(client_for("faraway"), stranger.user.email)
    assert foreign.get(f"/marketplace/photos/{ad_id}").status_code == 404
    anonymous = client_for("greenvale").get(f"/marketplace/photos/{ad_id}")
    assert anonymous.status_code in (302, 401) and not anonymous.data.startswith(b"\xff\xd8")


@pytest.mark.parametrize("payload, message", [
    (b"%PDF-1.4 not an image at all", "This file is not a photo"),
    (b"GIF89a" + b"\x00" * 20, "This file is not a photo"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
     "This file is not a photo"),
    (None, "The photo is too large"),
])
def test_bad_uploads_are_form_errors_and_store_nothing(
    app, greenvale, client_for, login, uploads, payload, message
):
    _group, ann, _ben = greenvale
    app.config["MARKETPLACE_PHOTO_MAX_BYTES"] = 200_000
    try:
        if payload is None:  # a real image, over the size limit
            payload = image_bytes("BMP", size=(400, 400))
            assert len(payload) > 200_000
        client = login(client_for("greenvale"), ann.user.email)
        before = ad_count(app)
        response = client.post(
            "/marketplace/new", data=_form(photo=(io.BytesIO(payload), "photo.jpg")),
            content_type="multipart/form-data",
        )
        assert response.status_code == 200
        assert message in response.get_data(as_text=True)
        assert ad_count(app) == before
        assert not uploads.exists() or not any(uploads.rglob("*.jpg"))
    finally:
        app.config.pop("MARKETPLACE_PHOTO_MAX_BYTES")


def test_replacing_a_photo_removes_the_old_file(app, greenvale, client_for, login, uploads):
    group, ann, _ben = greenvale
    client = login(client_for("greenvale"), ann.user.email)
    response = client.post("/marketplace/new", data=_form(
        photo=(io.BytesIO(image_bytes("JPEG")), "a.jpg")), content_type="multipart/form-data")
    ad_id = int(response.headers["Location"].rsplit("/", 1)[1])
    first = load_ad(app, group.id, ad_id).photo_path
    response = client.post(f"/marketplace/ads/{ad_id}/edit", data=_form(
        photo=(io.BytesIO(image_bytes("WEBP", color=(0, 0, 255))), "b.webp")),
        content_type="multipart/form-data")
    assert response.status_code == 302
    second = load_ad(app, group.id, ad_id).photo_path
    assert second != first and (uploads / second).is_file() and not (uploads / first).exists()
    client.post(f"/marketplace/ads/{ad_id}/edit", data=_form(remove_photo="y"))
    assert load_ad(app, group.id, ad_id).photo_path is None
    assert not (uploads / second).exists()


def test_coordinators_manage_categories(app, greenvale, client_for, login):
    group, ann, _ben = greenvale
    coordinator = coordinator_of(app, group)
    ad_id = make_ad(app, ann, "Tomato seedlings", category="Home and garden")
    member_client = login(client_for("greenvale"), ann.user.email)
    assert member_client.get("/marketplace/categories").status_code == 403
    client = login(client_for("greenvale"), coordinator.user.email)
    assert client.post("/marketplace/categories",
                       data={"new-name": "Seeds", "new-submit": "1"}).status_code == 302
    duplicate = client.post("/marketplace/categories",
                            data={"new-name": "seeds", "new-submit": "1"})
    assert "already has a category" in duplicate.get_data(as_text=True)
    ids = _category_ids(app, group)
    client.post(f"/marketplace/categories/{ids['Seeds']}", data={"name": "Seeds and plants"})
    client.post(f"/marketplace/categories/{ids['Home and garden']}", data={"delete": "1"})
    names = _category_ids(app, group)
    assert "Seeds and plants" in names and "Home and garden" not in names
    assert load_ad(app, group.id, ad_id).category_id is None  # the ad stays
    assert client.post("/marketplace/categories", data={
        "lifetime-ad_lifetime_days": "30", "lifetime-submit": "1"}).status_code == 302
    make_ad(app, ann, "Short-lived")
    with app.app_context(), group_context(group.id):
        newest = db.session.scalar(sa.select(Ad).order_by(Ad.id.desc()))
        assert timedelta(days=29) < newest.expires_at - utcnow() <= timedelta(days=30)


def test_pages_count_in_the_same_query_and_clamp(app, greenvale, count_queries):
    from timebank.marketplace import search

    group, ann, _ben = greenvale
    ids = [make_ad(app, ann, f"Ad number {n}") for n in range(5)]
    with app.test_request_context(), group_context(group.id):
        with count_queries() as counter:
            first = search.search_ads(per_page=2, page=1)
        last = search.search_ads(per_page=2, page=99)
        empty = search.search_ads(query="nothing-like-this", page=3)
    assert (first.total, first.pages, [a.id for a in first.ads]) == (5, 3, ids[:2:-1][:2])
    assert counter.count <= 3, counter.statements  # page with count, then eager loads
    assert (last.page, [a.id for a in last.ads]) == (3, [ids[0]])
    assert (empty.total, empty.pages, empty.ads) == (0, 1, [])


def test_member_ads_partial_for_profile_pages(app, greenvale):
    from flask import g, render_template_string
    from flask_login import login_user

    from timebank.models import Group, User

    group, ann, ben = greenvale
    ad_id = make_ad(app, ann, "Sourdough lessons")
    with app.test_request_context(base_url="http://greenvale.localhost:5000"):
        g.group = db.session.get(Group, group.id)
        with group_context(group.id):
            login_user(db.session.get(User, ben.user_id))
            member = db.session.get(Membership, ann.id)
            html = render_template_string(
                '{% include "marketplace/_member_ads.html" %}', member=member)
    assert ad_ids(html) == [ad_id] and "Sourdough lessons" in html


def test_transfer_links_from_offers_and_wants(app, greenvale, client_for, login):
    _group, ann, ben = greenvale
    offer = make_ad(app, ann, "Bike repair", price=120, unit="per_hour")
    want = make_ad(app, ann, "Need a ladder", kind="want")
    client = login(client_for("greenvale"), ben.user.email)
    offer_page = html.unescape(client.get(f"/marketplace/ads/{offer}").get_data(as_text=True))
    assert "Pay for this" in offer_page
    assert (f'href="/pay?to={ann.id}&ad={offer}&description=Bike+repair&amount=2:00'
            '&currency=HOUR"') in offer_page
    want_page = html.unescape(client.get(f"/marketplace/ads/{want}").get_data(as_text=True))
    assert "Request payment" in want_page
    assert f'href="/request?from={ann.id}&ad={want}&description=Need+a+ladder"' in want_page
    # The author sees neither link on their own ad.
    own = login(client_for("greenvale"), ann.user.email).get(f"/marketplace/ads/{offer}")
    assert 'id="transfer-link"' not in own.get_data(as_text=True)


def test_my_ads_are_paged_by_key_with_every_status(app, greenvale, client_for, login,
                                                    monkeypatch):
    """"My ads" lists every ad of mine, paused and expired too, newest first, a page at a
    time by key (issue 14); another member's ads are not mine."""
    _group, ann, ben = greenvale
    monkeypatch.setitem(app.config, "ADS_PER_PAGE", 2)
    make_ad(app, ann, "Ann ad 1", status="expired")
    make_ad(app, ann, "Ann ad 2", status="paused")
    make_ad(app, ann, "Ann ad 3")
    make_ad(app, ben, "Ben ad 9")  # not mine: the walk below would find its 9
    client = login(client_for("greenvale"), ann.user.email)

    assert walk_pager(client, "/marketplace/mine", r"(?:Ann|Ben) ad (\d)") == [["3", "2"], ["1"]]
    for odd in ("before=x", "after=-5", "before=99999999999999999999"):
        assert client.get(f"/marketplace/mine?{odd}").status_code in (200, 400), odd
