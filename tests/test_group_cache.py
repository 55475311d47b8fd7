"""The groups a process keeps (timebank.tenants.cache): a request finds its group without a
query, and a change is seen by the next request, in this process and (through Redis) in others."""

import os

import pytest
import sqlalchemy as sa

from timebank.extensions import db, redis_client
from timebank.models import Group
from timebank.tenants.cache import VERSION_KEY


@pytest.fixture
def oak(make_group):
    return make_group("oak")


@pytest.fixture
def elm(make_group):
    return make_group("elm")


def _home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _rename_behind_the_orms_back(app, group_id: int, name: str) -> None:
    """Write as another process would: no hook of this process sees it."""
    with app.app_context():
        db.session.execute(sa.text("UPDATE groups SET name = :name WHERE id = :id"),
                           {"name": name, "id": group_id})
        db.session.commit()


def test_the_second_request_reads_no_group(app, oak, client_for, count_queries):
    client = client_for("oak")
    _home(client)
    with count_queries() as counter:
        _home(client)
    assert not any("FROM groups" in s for s in counter.statements), counter.statements


def test_a_change_written_here_is_seen_by_the_next_request(app, oak, client_for):
    client = client_for("oak")
    assert "Oak Timebank" in _home(client)
    with app.app_context():
        db.session.get(Group, oak.id).name = "Oak Exchange"
        db.session.commit()
    assert "Oak Exchange" in _home(client)


def test_each_host_gets_its_own_group(app, oak, elm, client_for):
    assert "Oak Timebank" in _home(client_for("oak"))
    page = _home(client_for("elm"))
    assert "Elm Timebank" in page and "Oak Timebank" not in page


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the version lives in Redis")
def test_another_processs_change_is_seen_once_it_announces_it(app, oak, client_for):
    client = client_for("oak")
    assert "Oak Timebank" in _home(client)
    _rename_behind_the_orms_back(app, oak.id, "Oak Exchange")
    assert "Oak Timebank" in _home(client)  # kept: this process did not see the write
    redis_client(app).incr(VERSION_KEY)  # what the other process's commit does
    assert "Oak Exchange" in _home(client)


def test_a_kept_group_is_read_again_after_group_cache_seconds(app, oak, client_for,
                                                              monkeypatch):
    monkeypatch.setitem(app.config, "GROUP_CACHE_SECONDS", 0)
    client = client_for("oak")
    assert "Oak Timebank" in _home(client)
    _rename_behind_the_orms_back(app, oak.id, "Oak Exchange")
    assert "Oak Exchange" in _home(client)


def test_suspending_a_group_refuses_its_next_write(app, oak, client_for, login,
                                                   make_network_admin, make_member):
    member = make_member(oak, name="Ann")
    client = login(client_for("oak"), member.user.email)
    assert client.get("/dashboard").status_code == 200  # the group is kept
    admin = login(client_for(None), make_network_admin().email)
    response = admin.post("/network/groups/oak/suspend", data={"reason": "unpaid hosting"})
    assert response.status_code == 302
    assert client.post("/pay", data={}).status_code == 423


def test_the_groups_currencies_are_kept_and_a_change_is_seen_at_once(
        app, oak, client_for, login, make_member, count_queries):
    from timebank.models import Currency
    from timebank.tenants import group_context

    member = make_member(oak, name="Ann")
    client = login(client_for("oak"), member.user.email)
    assert client.get("/pay").status_code == 200
    with count_queries() as counter:
        assert client.get("/pay").status_code == 200
    assert not any("FROM currencies" in s for s in counter.statements), counter.statements
    with app.app_context(), group_context(oak.id):
        hours = db.session.scalar(sa.select(Currency).where(Currency.code == "HOUR"))
        hours.name = "Time credits"
        db.session.commit()
    assert "Time credits" in client.get("/pay").get_data(as_text=True)


def test_kept_currencies_are_the_groups_own(app, oak, elm, client_for, login, make_member):
    from timebank.models import Currency
    from timebank.tenants import group_context

    with app.app_context(), group_context(elm.id):
        db.session.scalar(sa.select(Currency).where(Currency.code == "HOUR")).name = "Elm hours"
        db.session.commit()
    ann, eve = make_member(oak, name="Ann"), make_member(elm, name="Eve")
    oak_page = login(client_for("oak"), ann.user.email).get("/pay").get_data(as_text=True)
    elm_page = login(client_for("elm"), eve.user.email).get("/pay").get_data(as_text=True)
    assert "Elm hours" in elm_page and "Elm hours" not in oak_page


def test_a_read_that_began_before_a_change_keeps_nothing(app, oak, client_for, monkeypatch):
    """A thread that read the old row just before another thread's commit cleared what was
    kept must not keep that old row."""
    from timebank.tenants import cache

    real_scalars = db.session.scalars

    class ReadThenSomeoneCommits:
        def __init__(self, statement):
            self.rows = real_scalars(statement).all()

        def all(self):
            cache.clear()  # the other thread's commit, after this read
            return self.rows

    with app.test_request_context(), app.app_context():
        monkeypatch.setattr(db.session, "scalars", ReadThenSomeoneCommits)
        assert cache.group_for_slug("oak").name == "Oak Timebank"
        monkeypatch.undo()
    assert cache._kept == {}
