"""Search and matching: misspellings, partial words, accents and several languages, through the
browse page and the services; the fallback without pg_trgm; possible trades; member search."""

import pytest

from tests.marketplace_support import ad_ids, make_ad, requires_trigram
from timebank.extensions import db
from timebank.marketplace import matching, search
from timebank.models import Membership
from timebank.tenants import group_context


@pytest.fixture
def market(app, make_group, make_member):
    """A group with ads in English, Spanish, French and German, and a reader."""
    group = make_group("greenvale")
    ann = make_member(group, name="Ann")
    lucia = make_member(group, name="Lucía Pérez")
    reader = make_member(group, name="Reader")
    ads = {
        "veg": make_ad(app, ann, "Organic-vegetables from my garden", tags=["food"]),
        "bike": make_ad(app, ann, "Bicycle repairs", body="I fix punctures and brakes."),
        "guitar": make_ad(app, ann, "Guitar lessons for beginners", tags=["music"]),
        "cafe": make_ad(app, lucia, "Café con leche y churros", goods=True),
        "clases": make_ad(app, lucia, "Clases de español", kind="offer", tags=["idiomas"]),
        "velo": make_ad(app, lucia, "Réparation de vélo", tags=["vélo"]),
        "garten": make_ad(app, lucia, "Gartenarbeit und Rasenmähen", kind="want"),
    }
    return group, reader, ads


def _search(client, query: str) -> list[int]:
    return ad_ids(client.get("/marketplace/", query_string={"q": query}).get_data(as_text=True))


@pytest.mark.parametrize("query, expected", [
    ("vegetalbes", "veg"),      # transposed letters
    ("vegtables", "veg"),       # a letter missing
    ("guitarr", "guitar"),      # a letter doubled
    ("bicyle", "bike"),         # the classic
    ("lesons", "guitar"),
    ("reparacion velo", "velo"),  # Spanish speaker, French ad
    ("gartenarbiet", "garten"),  # German, transposed
    ("rasenmahen", "garten"),   # umlaut typed without dots
    ("churos", "cafe"),
])
def test_misspellings_find_the_ad(app, market, client_for, login, query, expected):
    requires_trigram(app)
    _group, reader, ads = market
    client = login(client_for("greenvale"), reader.user.email)
    found = _search(client, query)
    assert found and found[0] == ads[expected], (query, found)


@pytest.mark.parametrize("query, expected", [
    ("organic", "veg"),          # a word inside "organic-vegetables"
    ("vegetables", "veg"),
    ("veget", "veg"),            # a prefix
    ("punctures", "bike"),       # a word of the body
    ("cafe", "cafe"),            # accents don't matter ...
    ("CAFÉ", "cafe"),
    ("espanol", "clases"),
    ("VELO", "velo"),
    ("velo", "velo"),
    ("idiomas", "clases"),       # a tag
    ("mähen", "garten"),         # ... in either direction
])
def test_partial_words_and_accents(app, market, client_for, login, query, expected):
    _group, reader, ads = market
    client = login(client_for("greenvale"), reader.user.email)
    found = _search(client, query)
    assert ads[expected] in found, (query, found)
    assert found[0] == ads[expected], (query, found)


@pytest.mark.parametrize("trigram", [True, False])
def test_unrelated_words_find_nothing(app, market, client_for, login, trigram):
    if trigram:
        requires_trigram(app)
    app.config["MARKETPLACE_TRIGRAM"] = trigram
    try:
        _group, reader, _ads = market
        client = login(client_for("greenvale"), reader.user.email)
        assert _search(client, "xylophone") == []
        assert _search(client, "zzzz qqqq") == []
        # Search syntax is treated as words, never as SQL or tsquery operators.
        for hostile in ("veg & !", "'; DROP TABLE ads; --", "%", "_", "a:* | b", "\\"):
            assert client.get("/marketplace/", query_string={"q": hostile}).status_code == 200
    finally:
        app.config.pop("MARKETPLACE_TRIGRAM")


def test_fallback_without_trigram_keeps_accents_and_partial_words(app, market, client_for,
                                                                  login):
    """What the embedded PostgreSQL (no pg_trgm) does: full text plus substring matching."""
    _group, reader, ads = market
    app.config["MARKETPLACE_TRIGRAM"] = False
    try:
        client = login(client_for("greenvale"), reader.user.email)
        assert _search(client, "organic")[0] == ads["veg"]
        assert _search(client, "cafe")[0] == ads["cafe"]
        assert _search(client, "parati")[0] == ads["velo"]  # inside "réparation"
        assert _search(client, "vegetalbes") == []  # typos need pg_trgm
    finally:
        app.config.pop("MARKETPLACE_TRIGRAM")


def test_search_stays_in_its_group(app, market, make_group, make_member, client_for, login):
    _group, _reader, ads = market
    other = make_group("faraway")
    local = make_member(other, name="Local")
    theirs = make_ad(app, local, "Organic vegetables box")
    client = login(client_for("faraway"), local.user.email)
    assert _search(client, "organic") == [theirs]
    assert _search(client, "vegetalbes") in ([theirs], [])  # [] without pg_trgm
    assert _search(client, "churros") == []


def test_search_is_combined_with_filters(app, market, client_for, login):
    _group, reader, ads = market
    client = login(client_for("greenvale"), reader.user.email)
    found = ad_ids(client.get("/marketplace/", query_string={
        "q": "garten velo", "kind": "want"}).get_data(as_text=True))
    assert found == [ads["garten"]]


def _trades(app, group, member) -> list[tuple[str, str]]:
    with app.test_request_context(), group_context(group.id):
        membership = db.session.get(Membership, member.id)
        return [(m.mine.title, m.other.title)
                for m in matching.possible_trades(membership=membership)]


def test_wants_are_matched_with_offers_both_ways(app, make_group, make_member):
    group = make_group("greenvale")
    ann, ben, cai = (make_member(group, name=n) for n in ("Ann", "Ben", "Cai"))
    make_ad(app, ann, "Organic vegetables from my garden", kind="offer")
    make_ad(app, ann, "Piano lessons", kind="offer")
    make_ad(app, ben, "Looking for fresh vegetables", kind="want")
    make_ad(app, ben, "Need someone to fix my bicycle", kind="want")
    make_ad(app, cai, "Bicycle repairs", kind="offer")
    make_ad(app, cai, "Vegetable seedlings", kind="offer")
    assert sorted(_trades(app, group, ben)) == [
        ("Looking for fresh vegetables", "Organic vegetables from my garden"),
        ("Looking for fresh vegetables", "Vegetable seedlings"),
        ("Need someone to fix my bicycle", "Bicycle repairs"),
    ]
    # The other side sees the same pair from its own ad; offers never match offers.
    assert _trades(app, group, ann) == [
        ("Organic vegetables from my garden", "Looking for fresh vegetables")]
    assert _trades(app, group, cai) and all(
        other in ("Looking for fresh vegetables", "Need someone to fix my bicycle")
        for _mine, other in _trades(app, group, cai))


def test_matching_tolerates_typos_and_languages(app, make_group, make_member):
    requires_trigram(app)
    group = make_group("barrio", locale="es")
    sofia, mateo = make_member(group, name="Sofía"), make_member(group, name="Mateo")
    make_ad(app, sofia, "Busco clases de guitarra", kind="want")
    make_ad(app, mateo, "Clases de guitara eléctrica", kind="offer")  # misspelt
    make_ad(app, mateo, "Reparación de bicicletas", kind="offer")
    assert _trades(app, group, sofia) == [
        ("Busco clases de guitarra", "Clases de guitara eléctrica")]


def test_matching_uses_one_query_for_many_ads(app, make_group, make_member, count_queries):
    group = make_group("greenvale")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    for n in range(8):
        make_ad(app, ann, f"Want item number{n} repaired", kind="want")
        make_ad(app, ben, f"Offer item number{n} repairs", kind="offer")
    with app.test_request_context(), group_context(group.id):
        membership = db.session.get(Membership, ann.id)
        with count_queries() as counter:
            found = matching.possible_trades(membership=membership, limit=20)
    assert len(found) >= 8
    assert counter.count <= 6, counter.statements


def test_possible_trades_partial_and_page(app, make_group, make_member, client_for, login):
    group = make_group("greenvale")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    make_ad(app, ann, "Homemade bread", kind="offer")
    want = make_ad(app, ben, "Looking for bread", kind="want")
    client = login(client_for("greenvale"), ann.user.email)
    page = client.get("/marketplace/matches").get_data(as_text=True)
    assert want in ad_ids(page)
    # The partial the dashboard includes renders on its own, for the logged-in member.
    with app.test_request_context(base_url="http://greenvale.localhost:5000"):
        from flask import g, render_template_string
        from flask_login import login_user

        from timebank.models import Group, User

        g.group = db.session.get(Group, group.id)
        with group_context(group.id):
            login_user(db.session.get(User, ann.user_id))
            html = render_template_string('{% include "marketplace/_possible_trades.html" %}')
    assert "Looking for bread" in html and f"/marketplace/ads/{want}" in html


def test_member_directory_search(app, make_group, make_member, client_for, login):
    group = make_group("greenvale")
    reader = make_member(group, name="Reader")
    jose = make_member(group, name="José Álvarez")
    gardener = make_member(group, name="Gwen")
    make_ad(app, gardener, "Pruning fruit trees", tags=["orchard"])
    with app.app_context(), group_context(group.id):
        db.session.get(Membership, jose.id).user.bio = "Plumber and electrician"
        db.session.commit()
    client = login(client_for("greenvale"), reader.user.email)

    def names(query):
        html = client.get("/marketplace/members", query_string={"q": query}).get_data(
            as_text=True)
        return [n for n in ("José Álvarez", "Gwen", "Reader") if n in html.split(
            'id="member-results"')[1]]

    assert names("jose") == ["José Álvarez"]
    assert names("alvarez") == ["José Álvarez"]
    assert names("plumb") == ["José Álvarez"]       # skills, partial
    assert names("orchard") == ["Gwen"]             # a tag of their ads
    assert names("pruning") == ["Gwen"]             # a word of their ads
    assert set(names("")) == {"José Álvarez", "Gwen", "Reader"}
    with app.app_context():
        if search_trigram(app):
            assert names("electrican") == ["José Álvarez"]  # typo in a skill


def search_trigram(app) -> bool:
    with app.app_context():
        return search.trigram_available()
