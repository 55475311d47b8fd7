"""Helpers for the API tests: tokens made through the service, bearer clients."""

from timebank.extensions import db
from timebank.models import Membership
from timebank.tenants import group_context


def token_for(app, membership: Membership, scopes=("read", "write"), days: int | None = 30,
              name: str = "test") -> str:
    """Make a token for ``membership`` (committed to the test transaction); the raw token."""
    from timebank.api.tokens import create_token

    with app.app_context(), group_context(membership.group_id):
        row = db.session.get(Membership, membership.id)
        _token, raw = create_token(membership=row, name=name, scopes=list(scopes), days=days)
        db.session.commit()
    return raw


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def apex_token_for(app, user_id: int, scopes=("read", "write"), days: int | None = 30) -> str:
    """Make an apex token for the user (committed to the test transaction); the raw token."""
    from timebank.api.tokens import create_apex_token
    from timebank.models import User

    with app.app_context():
        user = db.session.get(User, user_id)
        _token, raw = create_apex_token(user=user, name="test", scopes=list(scopes), days=days)
        db.session.commit()
    return raw
