"""Isolation: ads, photos, messages, favourites, reports and categories of group A are invisible
(404) from group B, and closed to logged-out visitors; rows cannot point across groups."""

import io
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.conftest import coordinator_of
from tests.marketplace_support import ad_ids, image_bytes
from timebank.extensions import db
from timebank.models import (
    Ad,
    Category,
    Conversation,
    FavouriteAd,
    Message,
    MessageReport,
)
from timebank.tenants import all_groups, group_context

SECRETS = ("Alder secret allotment", "whispered in alder", "Ann Alder", "Amy Alder")


@pytest.fixture
def world(app, make_group, make_member, client_for, login, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    alder, birch = make_group("alder"), make_group("birch")
    ann, amy = make_member(alder, name="Ann Alder"), make_member(alder, name="Amy Alder")
    bob = make_member(birch, name="Bob Birch")
    ann_client = login(client_for("alder"), ann.user.email)
    response = ann_client.post("/marketplace/new", data={
        "kind": "offer", "title": "Alder secret allotment", "goods_or_service": "goods",
        "category": "0", "price_unit": "one_off",
        "photo": (io.BytesIO(image_bytes("JPEG")), "plot.jpg"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    amy_client = login(client_for("alder"), amy.user.email)
    with app.app_context(), group_context(alder.id):
        ad_id = db.session.scalar(sa.select(Ad.id))
        category_id = db.session.scalar(sa.select(Category.id))
    amy_client.post(f"/marketplace/messages/new/{ann.id}?ad={ad_id}",
                    data={"body": "whispered in alder"})
    amy_client.post(f"/marketplace/ads/{ad_id}/favourite")
    with app.app_context(), group_context(alder.id):
        message = db.session.scalar(sa.select(Message))
        conversation_id, message_id = message.conversation_id, message.id
    ann_client.post(f"/marketplace/messages/report/{message_id}", data={"reason": "test"})
    with app.app_context(), group_context(alder.id):
        report_id = db.session.scalar(sa.select(MessageReport.id))
    yield SimpleNamespace(
        alder=alder, birch=birch, ann=ann, amy=amy, bob=bob, ad_id=ad_id,
        category_id=category_id, conversation_id=conversation_id, message_id=message_id,
        report_id=report_id,
    )
    app.config.pop("UPLOAD_FOLDER")


def _no_secrets(body: str) -> None:
    for secret in SECRETS:
        assert secret not in body


def _alder_urls(w) -> list[tuple[str, str]]:
    return [
        ("GET", f"/marketplace/ads/{w.ad_id}"),
        ("GET", f"/marketplace/photos/{w.ad_id}"),
        ("GET", f"/marketplace/ads/{w.ad_id}/edit"),
        ("POST", f"/marketplace/ads/{w.ad_id}/edit"),
        ("POST", f"/marketplace/ads/{w.ad_id}/pause"),
        ("POST", f"/marketplace/ads/{w.ad_id}/renew"),
        ("POST", f"/marketplace/ads/{w.ad_id}/favourite"),
        ("GET", f"/marketplace/messages/{w.conversation_id}"),
        ("POST", f"/marketplace/messages/{w.conversation_id}"),
        ("POST", f"/marketplace/messages/report/{w.message_id}"),
        ("GET", f"/marketplace/members/{w.ann.id}"),
        ("POST", f"/marketplace/members/{w.ann.id}/favourite"),
        ("POST", f"/marketplace/members/{w.ann.id}/block"),
        ("GET", f"/marketplace/messages/new/{w.ann.id}"),
        ("POST", f"/marketplace/messages/new/{w.ann.id}"),
        ("GET", f"/marketplace/messages/new/{w.bob.id}?ad={w.ad_id}"),
    ]


def test_group_b_gets_404_for_every_alder_id(world, client_for, login):
    client = login(client_for("birch"), world.bob.user.email)
    for method, url in _alder_urls(world):
        response = client.open(url, method=method, data={"body": "x", "title": "x"})
        assert response.status_code == 404, (method, url, response.status_code)
        _no_secrets(response.get_data(as_text=True))


def test_group_b_coordinator_gets_404_for_alder_reports_and_categories(app, world, client_for,
                                                                        login):
    coordinator = coordinator_of(app, world.birch)
    client = login(client_for("birch"), coordinator.user.email)
    assert client.post(f"/marketplace/reports/{world.report_id}/resolve").status_code == 404
    assert client.post(f"/marketplace/categories/{world.category_id}",
                       data={"delete": "1"}).status_code == 404
    assert client.post(f"/marketplace/ads/{world.ad_id}/edit").status_code == 404
    for page in ("/marketplace/reports", "/marketplace/categories"):
        _no_secrets(client.get(page).get_data(as_text=True))
    with app.app_context(), group_context(world.alder.id):
        assert db.session.get(MessageReport, world.report_id).resolved_at is None
        assert db.session.get(Category, world.category_id) is not None


def test_group_b_lists_show_nothing_of_alder(world, client_for, login):
    client = login(client_for("birch"), world.bob.user.email)
    for page in ("/marketplace/", "/marketplace/?q=allotment", "/marketplace/?q=alotment",
                 f"/marketplace/?member={world.ann.id}", "/marketplace/favourites",
                 "/marketplace/messages", "/marketplace/members?q=alder",
                 "/marketplace/matches", "/marketplace/mine"):
        response = client.get(page)
        assert response.status_code == 200, page
        body = response.get_data(as_text=True)
        assert ad_ids(body) == [], page
        _no_secrets(body)


def test_logged_out_visitors_see_nothing(world, client_for):
    visitor = client_for("alder")
    for method, url in [*_alder_urls(world), ("GET", "/marketplace/"),
                        ("GET", "/marketplace/favourites"), ("GET", "/marketplace/messages")]:
        response = visitor.open(url, method=method)
        assert response.status_code in (302, 401), (url, response.status_code)
        assert "/login" in response.headers.get("Location", "/login"), url
        _no_secrets(response.get_data(as_text=True))
        assert not response.data.startswith(b"\xff\xd8")  # no JPEG bytes
    # The apex has no marketplace at all.
    assert client_for(None).get(f"/marketplace/photos/{world.ad_id}").status_code == 404


def test_services_do_not_see_another_groups_rows(app, world):
    with app.app_context(), group_context(world.birch.id):
        assert db.session.get(Ad, world.ad_id) is None
        assert db.session.get(Conversation, world.conversation_id) is None
        assert db.session.get(Message, world.message_id) is None
        assert db.session.scalars(sa.select(FavouriteAd)).all() == []
    with app.app_context():  # no group: tenant tables match nothing
        assert db.session.scalars(sa.select(Ad)).all() == []


@pytest.mark.parametrize("make_row", [
    lambda w: FavouriteAd(group_id=w.birch.id, membership_id=w.bob.id, ad_id=w.ad_id),
    lambda w: Message(group_id=w.birch.id, conversation_id=w.conversation_id,
                      sender_id=w.bob.id, recipient_id=w.ann.id, body="x"),
    lambda w: Ad(group_id=w.birch.id, author_id=w.bob.id, kind="offer", title="x",
                 category_id=w.category_id, expires_at=sa.func.now()),
])
def test_rows_cannot_point_across_groups(app, world, make_row):
    with app.app_context(), all_groups():
        db.session.add(make_row(world))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
