"""The thinnest end-to-end path, through the test client: sign up, approve, pay, see it."""

from tests.conftest import coordinator_of, ledger_state


def test_member_pays_member(app, make_group, make_member, client_for, login):
    group = make_group("greenvale")
    ann = make_member(group, name="Ann")
    ben = make_member(group, name="Ben")
    client = login(client_for("greenvale"), ann.user.email)
    page = client.get("/pay")
    assert page.status_code == 200
    response = client.post(
        "/pay", data={"payee": ben.id, "amount": "1:30", "description": "Gardening",
                      "idempotency_key": "k1"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert ledger_state(app, group) == {"Ann": -90, "Ben": 90, "Coordinator Greenvale": 0}
    statement = client.get("/statement").get_data(as_text=True)
    assert "Gardening" in statement


def test_coordinator_exists(app, make_group):
    group = make_group()
    assert coordinator_of(app, group).role == 40
