"""The members directory, member profiles, and who may set a member's credit limit."""

import re

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of
from timebank.extensions import db
from timebank.models import Account
from timebank.tenants import group_context


def _account(app, member) -> Account:
    with app.app_context(), group_context(member.group_id):
        account = db.session.scalar(
            sa.select(Account).where(Account.membership_id == member.id)
        )
        db.session.expunge(account)
        return account


def test_directory_lists_active_members_by_name(make_group, make_member, client_for, login):
    group = make_group("alder")
    zoe = make_member(group, name="Zoe")
    make_member(group, name="Adam")
    make_member(group, name="Paul Pending", status="pending")
    make_member(group, name="Sam Suspended", status="suspended")
    page = login(client_for("alder"), zoe.user.email).get("/members/").get_data(as_text=True)
    body = page.split('class="list-group"', 1)[1]  # the list, not the navigation bar
    assert body.index("Adam") < body.index("Coordinator Alder") < body.index("Zoe")
    assert "Paul Pending" not in body and "Sam Suspended" not in body


def _directory(client, query: str = "") -> tuple[list[str], str]:
    page = client.get(f"/members/{query}").get_data(as_text=True)
    names = re.findall(r'list-group-item-action" href="/members/\d+">([^<]+?)\s*(?:<|</a>)',
                       page)
    return [name.strip() for name in names], page


def test_directory_pages_by_name_and_finds_by_a_word(app, monkeypatch, make_group,
                                                    make_member, client_for, login):
    monkeypatch.setitem(app.config, "MEMBERS_PER_PAGE", 2)
    group = make_group("alder")
    zoe = make_member(group, name="Zoe Baker")
    make_member(group, name="Adam Ash")
    make_member(group, name="Al Zed")
    make_member(group, name="Bea Crane")
    make_member(group, name="Paul Pending", status="pending")
    other = make_group("birch")
    make_member(other, name="Adele Elsewhere")
    client = login(client_for("alder"), zoe.user.email)

    first, page = _directory(client)
    assert first == ["Adam Ash", "Al Zed"]
    assert 'rel="next" href="/members/?page=2"' in page and 'rel="prev"' not in page
    second, page = _directory(client, "?page=2")
    assert second == ["Bea Crane", "Coordinator Alder"]
    assert 'rel="prev" href="/members/?page=1"' in page and 'rel="next"' in page
    last, page = _directory(client, "?page=3")
    assert last == ["Zoe Baker"] and 'rel="next"' not in page
    assert _directory(client, "?page=4")[0] == []

    # A word of the name, any case; the search is kept across pages; other groups are not in it.
    assert _directory(client, "?find=ba")[0] == ["Zoe Baker"]
    found, page = _directory(client, "?find=A")
    assert found == ["Adam Ash", "Al Zed"]
    assert 'rel="next" href="/members/?page=2&amp;find=A"' in page
    assert _directory(client, "?find=A&page=2")[0] == ["Coordinator Alder"]
    found, page = _directory(client, "?find=Adele")
    assert found == [] and "No member found" in page
    assert _directory(client, "?find=paul")[0] == []  # pending: not in the directory


@pytest.mark.parametrize("query", ["?page=-3", "?page=0", "?page=abc",
                                   "?page=99999999999999999999", f"?find={'x' * 5000}",
                                   "?find=%25_%25"])
def test_directory_takes_odd_input_without_error(make_group, make_member, client_for, login,
                                                 query):
    group = make_group("alder")
    zoe = make_member(group, name="Zoe")
    response = login(client_for("alder"), zoe.user.email).get(f"/members/{query}")
    assert response.status_code == 200


def test_directory_is_for_logged_in_members(make_group, make_member, client_for, login):
    group = make_group("alder")
    make_member(group, name="Zoe")
    assert client_for("alder").get("/members/?find=Zoe").status_code in (302, 401, 403)


def test_profile_of_pending_member_is_for_coordinators_only(app, make_group, make_member,
                                                            client_for, login):
    group = make_group("birch")
    member = make_member(group)
    waiting = make_member(group, name="Paul Pending", status="pending")
    assert login(client_for("birch"), member.user.email).get(
        f"/members/{waiting.id}").status_code == 404
    coordinator = login(client_for("birch"), coordinator_of(app, group).user.email)
    response = coordinator.get(f"/members/{waiting.id}")
    assert response.status_code == 200 and "Paul Pending" in response.get_data(as_text=True)
    assert coordinator.get("/members/999999").status_code == 404


def test_profile_shows_the_account_only_to_treasurers(app, make_group, make_member, client_for,
                                                      login):
    group = make_group("cedar")
    bob = make_member(group, name="Bob", min_balance=-300)
    member = make_member(group)
    treasurer = make_member(group, role="treasurer")
    as_member = login(client_for("cedar"), member.user.email).get(f"/members/{bob.id}")
    assert "Bob" in as_member.get_data(as_text=True)
    assert "Credit limit" not in as_member.get_data(as_text=True)
    as_treasurer = login(client_for("cedar"), treasurer.user.email).get(f"/members/{bob.id}")
    body = as_treasurer.get_data(as_text=True)
    assert "Credit limit" in body and "-5:00" in body
    assert f"/accounts/{_account(app, bob).id}/limits" in body


def test_a_profile_offers_to_pay_others_and_titles_the_page_with_the_name(
        make_group, make_member, client_for, login):
    group = make_group("larch")
    bob = make_member(group, name="Bob")
    member = make_member(group, name="Meg")
    client = login(client_for("larch"), member.user.email)
    page = client.get(f"/members/{bob.id}").get_data(as_text=True)
    assert re.search(r"<title>Bob · ", page)  # the name alone, no markup in the title
    assert f'href="/pay?to={bob.id}"' in page
    own = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "/pay?to=" not in own  # no paying oneself
    assert 'id="member-ads"' in own  # the member's ads stay on the page


def _limits(app, member) -> str:
    return f"/accounts/{_account(app, member).id}/limits"


@pytest.mark.parametrize("role,status", [("member", 403), ("organizer", 403),
                                         ("treasurer", 302), ("coordinator", 302)])
def test_who_may_set_limits(app, make_group, make_member, client_for, login, role, status):
    group = make_group("dogwood")
    bob = make_member(group, name="Bob")
    actor = make_member(group, role=role)
    client = login(client_for("dogwood"), actor.user.email)
    response = client.post(_limits(app, bob), data={"min_balance": "5", "max_balance": ""})
    assert response.status_code == status
    expected = -300 if status == 302 else None
    assert _account(app, bob).min_balance == expected


def test_limits_form_sets_credit_limit_and_ceiling(app, make_group, make_member, client_for,
                                                   login):
    group = make_group("elder")
    bob = make_member(group, name="Bob")
    client = login(client_for("elder"), coordinator_of(app, group).user.email)
    response = client.post(_limits(app, bob), data={"min_balance": "7:30", "max_balance": "40"},
                           follow_redirects=True)
    assert "Limits saved for Bob." in response.get_data(as_text=True)
    account = _account(app, bob)
    assert (account.min_balance, account.max_balance) == (-450, 2400)
    # A leading minus on the credit limit means the same thing; empty means the default.
    client.post(_limits(app, bob), data={"min_balance": "-2", "max_balance": ""})
    account = _account(app, bob)
    assert (account.min_balance, account.max_balance) == (-120, None)
    # Zero: no credit at all.
    client.post(_limits(app, bob), data={"min_balance": "0", "max_balance": ""})
    assert _account(app, bob).min_balance == 0


def test_limits_form_shows_the_current_limits(app, make_group, make_member, client_for,
                                              login):
    """Saving the form unchanged must not wipe a limit the treasurer did not touch."""
    group = make_group("fir")
    bob = make_member(group, name="Bob", min_balance=-450, max_balance=2400)
    client = login(client_for("fir"), coordinator_of(app, group).user.email)
    page = client.get(_limits(app, bob)).get_data(as_text=True)
    assert 'value="7:30"' in page and 'value="40:00"' in page
    client.post(_limits(app, bob), data={"min_balance": "10", "max_balance": "40:00"})
    account = _account(app, bob)
    assert (account.min_balance, account.max_balance) == (-600, 2400)


@pytest.mark.parametrize("field,text", [("min_balance", "lots"), ("min_balance", "1e3"),
                                        ("max_balance", "-5"), ("max_balance", "ten")])
def test_limits_form_rejects_junk(app, make_group, make_member, client_for, login, field, text):
    group = make_group("gum")
    bob = make_member(group, name="Bob", min_balance=-300)
    client = login(client_for("gum"), coordinator_of(app, group).user.email)
    data = {"min_balance": "5", "max_balance": ""} | {field: text}
    response = client.post(_limits(app, bob), data=data)
    assert response.status_code == 200
    error = response.get_data(as_text=True).split(f'id="{field}"', 1)[1].split("</div>", 1)[0]
    assert "Enter a number of hours" in error  # next to the field
    account = _account(app, bob)
    assert (account.min_balance, account.max_balance) == (-300, None)


def test_old_limits_address_redirects_to_the_account(app, make_group, make_member, client_for,
                                                     login):
    group = make_group("holly")
    bob = make_member(group, name="Bob")
    client = login(client_for("holly"), coordinator_of(app, group).user.email)
    response = client.get(f"/members/{bob.id}/limits")
    assert response.status_code == 301
    assert response.headers["Location"] == _limits(app, bob)
    # A form posted to the old address saves nothing and lands on the new page.
    response = client.post(f"/members/{bob.id}/limits", data={"min_balance": "5"})
    assert response.status_code == 303
    assert response.headers["Location"] == _limits(app, bob)
    assert _account(app, bob).min_balance is None
    member = login(client_for("holly"), make_member(group).user.email)
    assert member.get(f"/members/{bob.id}/limits").status_code == 403


def test_limits_of_a_pending_member_are_404(app, make_group, make_member, client_for, login):
    group = make_group("hazel")
    waiting = make_member(group, status="pending")
    client = login(client_for("hazel"), coordinator_of(app, group).user.email)
    assert client.get(f"/members/{waiting.id}/limits").status_code == 404
