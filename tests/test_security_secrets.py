"""Issue 15, item 1: no start without a strong SECRET_KEY; old keys listed for rotation."""

import os
import stat

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from timebank import create_app
from timebank.security.secrets import InsecureSecretKey, development_key

PRODUCTION = {"DATABASE_URL": "postgresql://app@db.invalid/timebank", "TESTING": False,
              "DEBUG": False}
STRONG = "k4J9-vQ2pLx8ZrT0wYb6NcEe3HsUuMmA1dF7gRiOo"


def test_no_secret_key_outside_development_refuses_to_start(monkeypatch):
    monkeypatch.delenv("TIMEBANK_ENV", raising=False)
    with pytest.raises(InsecureSecretKey, match="SECRET_KEY"):
        create_app({**PRODUCTION, "SECRET_KEY": None})


@pytest.mark.parametrize("weak", ["dev-insecure-change-me", "short-key", "a" * 40])
def test_weak_secret_key_refuses_to_start(monkeypatch, weak):
    monkeypatch.delenv("TIMEBANK_ENV", raising=False)
    with pytest.raises(InsecureSecretKey, match="SECRET_KEY"):
        create_app({**PRODUCTION, "SECRET_KEY": weak})


def test_strong_secret_key_starts_and_lists_fallbacks(monkeypatch):
    monkeypatch.delenv("TIMEBANK_ENV", raising=False)
    app = create_app({**PRODUCTION, "SECRET_KEY": STRONG,
                      "SECRET_KEY_FALLBACKS": "old-key-one-xxxxxxxxxxxxxxxxxxxxxxxx, old-two"})
    assert app.secret_key == STRONG
    assert app.config["SECRET_KEY_FALLBACKS"] == [
        "old-key-one-xxxxxxxxxxxxxxxxxxxxxxxx", "old-two"]


def test_development_key_is_random_private_and_kept(tmp_path):
    key = development_key(tmp_path)
    assert len(key) >= 32 and key == development_key(tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    assert development_key(tmp_path / "other") != key


def test_tests_do_not_run_on_the_old_default_key(app):
    assert app.secret_key not in {None, "", "dev-insecure-change-me"}


def _cookie_signed_with(key: str, data: dict) -> str:
    forger = Flask("forger")
    forger.secret_key = key
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps(data)


def test_cookie_signed_with_the_old_default_key_is_refused(app, client_for, make_network_admin):
    admin = make_network_admin()
    client = client_for(None)
    forged = _cookie_signed_with("dev-insecure-change-me",
                                 {"_user_id": f"{admin.id}@localhost:5000", "_fresh": True})
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], forged, domain="localhost:5000")
    response = client.get("/network/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_cookie_signed_with_a_fallback_key_still_reads(app, client_for):
    client = client_for(None)
    old = "an-old-key-being-rotated-out-0123456789"
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    try:
        client.set_cookie(app.config["SESSION_COOKIE_NAME"],
                          _cookie_signed_with(old, {"marker": "kept"}), domain="localhost:5000")
        with client:
            client.get("/")
            from flask import session

            assert session.get("marker") == "kept"
    finally:
        app.config["SECRET_KEY_FALLBACKS"] = []
