"""Issue 15, item 8: while the database is unreachable, a 503 page that needs nothing."""

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import scoped_session, sessionmaker

from timebank.extensions import db


@pytest.fixture
def database_down(app, monkeypatch):
    dead = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:1/timebank",
                            connect_args={"connect_timeout": 2})
    monkeypatch.setattr(db, "session", scoped_session(sessionmaker(bind=dead)))
    yield
    dead.dispose()


@pytest.mark.parametrize("slug", [None, "greenvale"])
def test_outage_is_a_503_page_without_the_database(client_for, database_down, slug):
    response = client_for(slug).get("/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "briefly unavailable" in response.get_data(as_text=True)


def test_outage_page_in_the_readers_language(client_for, database_down):
    response = client_for("greenvale").get("/", headers={"Accept-Language": "es"})
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and 'lang="es"' in page
    assert "Timebank is briefly unavailable" not in page  # translated
