"""The baseline for bench/http_load.py: a bare Flask app on the same database, no extensions.

``/select`` runs one SELECT; ``/tpcb`` runs pgbench's five TPC-B-like statements in one
transaction (on the pgbench tables of ``BARE_PGBENCH_URL``); ``/ledger`` makes the ledger call
POST /pay makes, as one transaction of its own: the group's context, ``ledger_transfer`` (every
rule of a payment), commit (``BARE_LEDGER``: the group, the currency, the payer's membership,
then the payees', comma-separated); ``/replay`` runs the statements one view of an app page ran
(``BARE_REPLAY``: a file ``profile_request.py --record`` wrote) in one transaction of that group.
Served by gunicorn like the app.
"""

import json
import os
import random
import secrets

import psycopg
from flask import Flask

app = Flask(__name__)
_connections: dict[str, psycopg.Connection] = {}  # one per database in each sync worker


def _connection(variable: str) -> psycopg.Connection:
    if variable not in _connections:
        _connections[variable] = psycopg.connect(os.environ[variable])
    return _connections[variable]


SCALE = int(os.environ.get("BARE_PGBENCH_SCALE", "1"))


@app.get("/select")
def select():
    connection = _connection("BARE_DATABASE_URL")
    with connection.transaction():
        row = connection.execute("SELECT name FROM groups ORDER BY id LIMIT 1").fetchone()
    return f"<p>{row[0]}</p>"


@app.post("/tpcb")
def tpcb():
    aid, bid = random.randint(1, 100000 * SCALE), random.randint(1, SCALE)
    tid, delta = random.randint(1, 10 * SCALE), random.randint(-5000, 5000)
    connection = _connection("BARE_PGBENCH_URL")
    with connection.transaction():  # one transaction, committed on exit
        connection.execute("UPDATE pgbench_accounts SET abalance = abalance + %s WHERE aid = %s",
                           (delta, aid))
        connection.execute("SELECT abalance FROM pgbench_accounts WHERE aid = %s", (aid,))
        connection.execute("UPDATE pgbench_tellers SET tbalance = tbalance + %s WHERE tid = %s",
                           (delta, tid))
        connection.execute("UPDATE pgbench_branches SET bbalance = bbalance + %s WHERE bid = %s",
                           (delta, bid))
        connection.execute("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)"
                           " VALUES (%s, %s, %s, %s, CURRENT_TIMESTAMP)", (tid, bid, aid, delta))
    return "", 302, {"Location": "/select"}


@app.post("/ledger")
def ledger():
    group, currency, payer, *payees = (int(n) for n in os.environ["BARE_LEDGER"].split(","))
    connection = _connection("BARE_DATABASE_URL")
    with connection.transaction():
        connection.execute("SELECT set_config('timebank.group_id', %s, true)", (str(group),))
        refusal = connection.execute(
            "SELECT refusal FROM ledger_transfer(%s, %s, %s, %s, NULL, NULL, 1, 'bench',"
            " 'payment', 'completed', %s, %s, now())",
            (group, payer, random.choice(payees), currency, payer, secrets.token_hex(8)),
        ).fetchone()[0]
    if refusal:
        return refusal, 409
    return "", 302, {"Location": "/select"}


@app.get("/replay")
def replay():
    """One page's database work without the framework: its statements, as the app sent them,
    each result fetched."""
    group = os.environ["BARE_LEDGER"].split(",")[0]
    connection = _connection("BARE_DATABASE_URL")
    with connection.transaction():
        connection.execute("SELECT set_config('timebank.group_id', %s, true)", (group,))
        for statement in _recorded():
            connection.execute(statement["sql"], statement["parameters"]).fetchall()
    return "<p>replayed</p>"


_statements: list[dict] = []


def _recorded() -> list[dict]:
    if not _statements:
        _statements.extend(json.loads(open(os.environ["BARE_REPLAY"]).read()))
    return _statements
