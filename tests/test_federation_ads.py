"""Followers hear of an ad's whole life, against a real HTTP peer: ``Create`` when it is
posted, ``Update`` with the new ``Note`` when it is edited, ``Delete`` (a ``Tombstone``) when it
is closed or expires. Each delivery is checked by the peer's own signature code."""

from datetime import timedelta

from tests import federation_support
from tests.federation_support import follow_group, post_ad
from tests.group_admin_support import in_request
from timebank.extensions import db
from timebank.models import Ad, AdKind, Membership, utcnow
from timebank.tenants import all_groups

peer, fedi = federation_support.peer, federation_support.fedi  # the fixtures


def _edit(app, group, ad_id: int, editor_id: int, title: str) -> None:
    from timebank.marketplace import service as marketplace

    with in_request(app, group):
        marketplace.update_ad(
            ad=db.session.get(Ad, ad_id),
            editor=db.session.get(Membership, editor_id),
            kind=AdKind.OFFER,
            title=title,
            body="Baked on Fridays",
        )
        db.session.commit()


def _close(app, group, ad_id: int, editor_id: int) -> None:
    from timebank.marketplace import service as marketplace

    with in_request(app, group):
        marketplace.pause_ad(
            ad=db.session.get(Ad, ad_id), editor=db.session.get(Membership, editor_id)
        )
        db.session.commit()


def test_an_edit_is_sent_as_an_update_of_the_note(app, fedi, peer, client_for):
    group, ann = fedi
    follow_group(peer, client_for("fedi"))
    ad_id = post_ad(app, group, ann.id, "Sourdough loaves")
    [create] = peer.taken("Create")
    _edit(app, group, ad_id, ann.id, "Rye loaves")
    _edit(app, group, ad_id, ann.id, "Spelt loaves")
    first, second = peer.taken("Update")  # both verified with the group's key
    assert first["actor"] == create["actor"] and first["object"]["id"] == create["object"]["id"]
    assert "Rye loaves" in first["object"]["content"]
    assert "Spelt loaves" in second["object"]["content"]
    assert "Baked on Fridays" in second["object"]["content"]
    assert len({create["id"], first["id"], second["id"]}) == 3  # each edit, a new activity
    assert first["object"]["updated"] < second["object"]["updated"]


def test_closing_sends_a_delete_and_later_edits_nothing(app, fedi, peer, client_for):
    group, ann = fedi
    follow_group(peer, client_for("fedi"))
    ad_id = post_ad(app, group, ann.id, "Sourdough loaves")
    [create] = peer.taken("Create")
    _close(app, group, ad_id, ann.id)
    [delete] = peer.taken("Delete")
    assert delete["actor"] == create["actor"]
    assert delete["object"] == {"id": create["object"]["id"], "type": "Tombstone"}
    assert client_for("fedi").get(f"/ap/ads/{ad_id}").status_code == 404  # gone for all
    before = len(peer.received)
    _edit(app, group, ad_id, ann.id, "Still paused")  # not shown to anyone: nothing sent
    _close(app, group, ad_id, ann.id)  # closed already: no second Delete
    assert len(peer.received) == before


def test_an_expired_ad_is_sent_as_a_delete(app, fedi, peer, client_for, make_group, make_member):
    from timebank.marketplace.jobs import expire_ads

    group, ann = fedi
    quiet = make_group("fediquiet")  # does not publish: its expiry tells nobody
    quiet_ad = post_ad(app, quiet, make_member(quiet, name="Quinn").id, "Quiet bread")
    follow_group(peer, client_for("fedi"))
    ad_id = post_ad(app, group, ann.id, "Sourdough loaves")
    with app.app_context(), all_groups():
        for expiring in (ad_id, quiet_ad):
            db.session.get(Ad, expiring).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    with app.app_context():
        assert expire_ads() == 2
        db.session.commit()  # the Delete job leaves now, and runs as the context ends
    [delete] = peer.taken("Delete")
    assert delete["object"]["id"].endswith(f"/ap/ads/{ad_id}")
    assert [r["activity"]["type"] for r in peer.received] == ["Accept", "Create", "Delete"]


def test_no_update_or_delete_when_the_group_stops_publishing(app, fedi, peer, client_for):
    from timebank.federation.service import set_publishing

    group, ann = fedi
    follow_group(peer, client_for("fedi"))
    ad_id = post_ad(app, group, ann.id, "Sourdough loaves")
    with in_request(app, group):
        set_publishing(False)
        db.session.commit()
    before = len(peer.received)
    _edit(app, group, ad_id, ann.id, "Rye loaves")
    _close(app, group, ad_id, ann.id)
    assert len(peer.received) == before


def test_a_suspended_or_departed_members_ads_are_deleted(app, fedi, peer, client_for,
                                                        make_member):
    from timebank.people import management

    def deleted_since(count: int) -> list[str]:
        return [d["object"]["id"].rsplit("/", 1)[1] for d in peer.taken("Delete")[count:]]

    group, ann = fedi
    ben = make_member(group, name="Ben")
    follow_group(peer, client_for("fedi"))
    ann_ad = post_ad(app, group, ann.id, "Sourdough loaves")
    ben_ads = [post_ad(app, group, ben.id, "Bike repairs"), post_ad(app, group, ben.id, "Cake")]
    paused = post_ad(app, group, ben.id, "Paused already")
    _close(app, group, paused, ben.id)
    seen = len(peer.taken("Delete"))
    with in_request(app, group):
        management.suspend(membership=db.session.get(Membership, ann.id), by=None)
        db.session.commit()
    assert deleted_since(seen) == [str(ann_ad)]
    seen = len(peer.taken("Delete"))
    with in_request(app, group):
        management.leave_group(membership=db.session.get(Membership, ben.id))
        db.session.commit()
    assert sorted(deleted_since(seen)) == sorted(map(str, ben_ads))  # not the paused one
    seen = len(peer.taken("Delete"))
    with in_request(app, group):  # a suspended member who leaves: withdrawn already
        management.leave_group(membership=db.session.get(Membership, ann.id))
        db.session.commit()
    assert deleted_since(seen) == []
    for ad_id in (ann_ad, *ben_ads):
        assert client_for("fedi").get(f"/ap/ads/{ad_id}").status_code == 404
