"""No open redirects: every ``next`` the app follows stays on the same host."""

import pytest

from tests.marketplace_support import make_ad
from timebank.blueprints.navigation import local_path

HOSTILE = [
    "//evil.example/phish",
    "/\t/evil.example/phish",
    "/\n/evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_local_path_refuses_anything_that_leaves_the_host(target):
    assert local_path(target) is None


@pytest.mark.parametrize("target", ["/dashboard", "/marketplace/?q=bike&page=2", "/"])
def test_local_path_keeps_paths_on_this_host(target):
    assert local_path(target) == target


@pytest.mark.parametrize("target", HOSTILE[:4])
def test_login_and_marketplace_redirects_stay_home(app, make_group, make_member, client_for,
                                                   login, target):
    group = make_group("alder")
    ann = make_member(group, name="Ann")
    ben = make_member(group, name="Ben")
    ad_id = make_ad(app, ben, "Bike repair")
    client = client_for("alder")
    response = client.post(f"/login?next={target}",
                           data={"email": ann.user.email, "password": "correct horse battery"})
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "http://alder.localhost:5000/")
    response = client.post(f"/marketplace/ads/{ad_id}/favourite", query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert not location.startswith("//") and "evil.example" not in location
