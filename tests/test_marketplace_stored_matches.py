"""Possible trades are stored (``ad_matches``): written when an ad changes and by the scheduled
jobs, read with one query, never across groups."""

import threading
from datetime import timedelta

import sqlalchemy as sa

from tests.marketplace_support import make_ad
from timebank.extensions import db
from timebank.marketplace import jobs, matching
from timebank.marketplace import service as marketplace
from timebank.models import Ad, AdMatch, AdStatus, Membership, MembershipStatus, utcnow
from timebank.models.base import shared_alias
from timebank.tenants import all_groups, group_context


def _trades(app, group, member) -> list[tuple[str, str]]:
    with app.test_request_context(), group_context(group.id):
        membership = db.session.get(Membership, member.id)
        return [(m.mine.title, m.other.title)
                for m in matching.possible_trades(membership=membership)]


def _stored(app, group) -> set[tuple[int, int]]:
    with app.test_request_context(), group_context(group.id):
        return set(db.session.execute(sa.select(AdMatch.want_id, AdMatch.offer_id)).all())


def test_a_pair_is_stored_when_an_ad_is_posted(app, make_group, make_member):
    group = make_group("greenvale")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    offer = make_ad(app, ann, "Homemade bread", kind="offer")
    want = make_ad(app, ben, "Looking for bread", kind="want")
    assert _stored(app, group) == {(want, offer)}
    assert _trades(app, group, ann) == [("Homemade bread", "Looking for bread")]
    assert _trades(app, group, ben) == [("Looking for bread", "Homemade bread")]


def test_pause_renew_and_edit_refresh_the_pairs(app, make_group, make_member):
    group = make_group("greenvale")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    offer = make_ad(app, ann, "Homemade bread", kind="offer")
    want = make_ad(app, ben, "Looking for bread", kind="want")
    with app.test_request_context(), group_context(group.id):
        ad, author = db.session.get(Ad, offer), db.session.get(Membership, ann.id)
        marketplace.pause_ad(ad=ad, editor=author)
        db.session.commit()
    assert _stored(app, group) == set() and _trades(app, group, ben) == []
    with app.test_request_context(), group_context(group.id):
        ad, author = db.session.get(Ad, offer), db.session.get(Membership, ann.id)
        marketplace.renew_ad(ad=ad, editor=author)
        db.session.commit()
    assert _stored(app, group) == {(want, offer)}
    with app.test_request_context(), group_context(group.id):
        ad, author = db.session.get(Ad, offer), db.session.get(Membership, ann.id)
        marketplace.update_ad(ad=ad, editor=author, kind=ad.kind, title="Piano lessons")
        db.session.commit()
    assert _stored(app, group) == set()


def test_the_jobs_drop_expired_pairs_and_rebuild(app, make_group, make_member):
    group = make_group("greenvale")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    offer = make_ad(app, ann, "Homemade bread", kind="offer")
    want = make_ad(app, ben, "Looking for bread", kind="want")
    make_ad(app, ben, "Bicycle repairs wanted", kind="want")
    with app.test_request_context(), group_context(group.id):
        db.session.get(Ad, want).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    with app.test_request_context():
        jobs.expire_and_remind()
        db.session.commit()
    assert _stored(app, group) == set()
    with app.test_request_context(), all_groups():
        ad = db.session.get(Ad, want)
        assert ad.status == AdStatus.EXPIRED
        ad.status, ad.expires_at = AdStatus.ACTIVE, utcnow() + timedelta(days=5)
        db.session.execute(sa.delete(AdMatch))  # as before the migration: nothing stored
        db.session.commit()
    with app.test_request_context():
        matching.rebuild_all_matches()
        db.session.commit()
    assert _stored(app, group) == {(want, offer)}


def test_pairs_stay_in_their_group(app, make_group, make_member):
    green, other = make_group("greenvale"), make_group("otherton")
    ann, ben = make_member(green, name="Ann"), make_member(other, name="Ben")
    make_ad(app, ann, "Homemade bread", kind="offer")
    make_ad(app, ben, "Looking for bread", kind="want")
    assert _stored(app, green) == set() and _stored(app, other) == set()
    with app.test_request_context():
        matching.rebuild_all_matches()
        db.session.commit()
    assert _trades(app, other, ben) == []


def test_possible_trades_are_read_in_one_statement(app, make_group, make_member, count_queries):
    group = make_group("greenvale")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    for n in range(8):
        make_ad(app, ann, f"Want item number{n} repaired", kind="want")
        make_ad(app, ben, f"Offer item number{n} repairs", kind="offer")
    with app.test_request_context(), group_context(group.id):
        membership = db.session.get(Membership, ann.id)
        with count_queries() as counter:
            found = matching.possible_trades(membership=membership, limit=20)
            [m.other.author.user.name for m in found]
    assert len(found) >= 8
    assert counter.count == 1, counter.statements


def test_the_dashboard_reads_the_same_pairs_as_columns_in_one_statement(
        app, make_group, make_member, count_queries):
    group = make_group("greenvale")
    ann, ben, cai = (make_member(group, name=name) for name in ("Ann", "Ben", "Cai"))
    for n in range(4):
        make_ad(app, ann, f"Want item number{n} repaired", kind="want")
        make_ad(app, ben, f"Offer item number{n} repairs", kind="offer")
    make_ad(app, ann, "Homemade bread", kind="offer")
    paused = make_ad(app, ben, "Looking for bread", kind="want")
    make_ad(app, cai, "Fresh bread wanted", kind="want")
    with app.test_request_context(), group_context(group.id):
        # Stored pairs the member may no longer see: a paused ad, a suspended author.
        db.session.get(Ad, paused).status = AdStatus.PAUSED
        db.session.get(Membership, cai.id).status = MembershipStatus.SUSPENDED
        db.session.commit()
    with app.test_request_context(), group_context(group.id):
        membership = db.session.get(Membership, ann.id)
        full = matching.possible_trades(membership=membership, limit=20)
        with count_queries() as counter:
            brief = matching.possible_trades_in_brief(membership=membership, limit=20)
        expected = [(m.other.id, m.other.title, m.other.author.user.name, m.mine.title,
                     m.mine.kind) for m in full]
    assert counter.count == 1, counter.statements
    assert [tuple(row) for row in brief] == expected
    assert [row._fields for row in brief[:1]] == [
        ("other_id", "other_title", "other_author_name", "mine_title", "mine_kind")]
    assert len(brief) >= 4 and {row.other_author_name for row in brief} == {"Ben"}
    assert "Looking for bread" not in {row.other_title for row in brief}


def _statements_built_by_threads_at_once(threads: int = 8) -> list[str]:
    """The SQL of the dashboard's possible trades, built by ``threads`` threads at the same
    moment with aliases no thread has used yet (as in a web worker's first requests)."""
    from sqlalchemy.dialects import postgresql

    barrier, built = threading.Barrier(threads), []

    def build():
        barrier.wait()
        built.append(str(matching._brief_statement.__wrapped__().compile(
            dialect=postgresql.dialect())))

    workers = [threading.Thread(target=build) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return built


def test_aliases_shared_by_threads_are_whole_before_their_first_use(monkeypatch):
    """Two request threads building the possible trades at once once named the table instead
    of its alias (``JOIN ads AS other ON ads.group_id``): a half-adapted alias, then every
    dashboard of that worker a 500 (issue 14, session 13). Fresh aliases each round, as a new
    worker has; with plain ``aliased()`` this failed in every run."""
    for _ in range(500):
        monkeypatch.setattr(matching, "_MINE", shared_alias(Ad, name="mine"))
        monkeypatch.setattr(matching, "_OTHER", shared_alias(Ad, name="other"))
        monkeypatch.setattr(matching, "_OTHER_AUTHOR",
                            shared_alias(Membership, name="other_author"))
        for sql in _statements_built_by_threads_at_once():
            assert " ads." not in sql and "memberships." not in sql, sql
