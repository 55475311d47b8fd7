"""The inbox waits for the sender's key with no database transaction open.

Verifying a ``Follow`` means fetching the sender's key from its server, which may be slow. The
inbox reads what it needs in one transaction, fetches and verifies with none open, then writes
in a second (:func:`timebank.boundary.in_steps`). Checked for real: while the peer (a real HTTP
server) takes its time answering, PostgreSQL's ``pg_stat_activity`` shows no session of this
database inside a transaction. Commits for real, so the request has its own connection.
"""

import time

import sqlalchemy as sa

from tests import federation_support
from tests.federation_support import follow_group, follower_actors
from timebank.extensions import db
from timebank.tenants.rls import as_owner

peer, fedi = federation_support.peer, federation_support.fedi  # the fixtures
SLOW_FETCH = 0.5  # seconds the peer takes to answer a fetch of its key


def _sessions_in_a_transaction(app) -> list[str]:
    """What the other sessions of the test database that are inside a transaction run."""
    with app.app_context(), db.engine.connect() as connection:
        with as_owner(connection).begin():  # as logged in: it sees every session's state
            return list(
                connection.scalars(
                    sa.text(
                        "SELECT coalesce(state, '?') || ': ' || left(query, 120)"
                        " FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid()"
                        " AND xact_start IS NOT NULL"
                    )
                )
            )


def test_no_transaction_is_open_while_the_senders_key_is_fetched(
    committing_app, fedi, peer, client_for
):
    group, _ann = fedi
    seen: list[list[str]] = []

    def slow_fetch():
        seen.append(_sessions_in_a_transaction(committing_app))
        time.sleep(SLOW_FETCH)

    peer.on_fetch = slow_fetch
    follow_group(peer, client_for("fedi"))  # checks the 202
    assert seen and seen == [[]] * len(seen), seen
    assert follower_actors(committing_app, group) == [peer.actor]
    assert len(peer.taken("Accept")) == 1
