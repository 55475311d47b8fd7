"""Benchmark: pages and payments through gunicorn with wrk, beside a bare Flask app and pgbench.

In one run, on one PostgreSQL server (issue 14):

* ``POST /pay`` (session, CSRF, idempotency key, 302) against ``bare_app.py``'s ``/tpcb``
  (pgbench's five TPC-B-like statements in one transaction, through Flask and gunicorn) and
  against pgbench itself, at ``--connections``; and, not a target, against ``/ledger``: the
  same ledger call as POST /pay in a bare route, so the ratio is what the framework costs;
  the dashboard likewise against ``/replay`` of the statements one view of it ran (recorded
  by ``profile_request.py --record`` before the servers start);
* the dashboard against ``bare_app.py``'s ``/select`` (one SELECT); statement, members,
  marketplace and a transfer's page beside them;
* statement, dashboard and CSV of a member with ``--history`` transfers (200,000) beside a
  member with a few dozen (the CSV's first row: medians of 15 requests);
* the network console at 10,000 groups, sorted by each column, beside its default order;
* not targets, ``floor_app.py``'s POST /pay and dashboard: the same work with only the
  libraries our standards require, each at its cheapest, so the ratios show what of a page's
  cost no code of ours can remove.

The app runs under gunicorn as production runs it (``ansible/roles/web``): ``--workers``
threaded workers (2 × CPUs + 1) of ``--threads`` 2, ``timebank:create_app()``, no preload;
``--threads 1`` (sync workers) and ``--preload`` try other settings. The bare app runs with
the same number of workers, one thread each.
Seeding (a minute): bench/transfers.py's group of 1,000 members, then the histories written
in bulk (:func:`seed_history`, checked by the ledger's verify), then the console's groups.
Each figure (and pgbench) first runs ``--warmup`` seconds of the same load, not counted: a
worker's first request of a page compiles its templates and statements (in one process, +90 ms
for the dashboard's first view), which would otherwise land in a short figure's p99.
Figures are printed as a Markdown table (bench/RESULTS.md).

    python bench/http_load.py                        # seed, then 10 s per figure at 4 connections
    python bench/http_load.py --reuse --seconds 20   # keep the seeded database
    python bench/http_load.py --reuse --only dashboard "bare /select"

Needs ``wrk`` (Debian: ``apt-get install wrk``) and ``pgbench``. (The issue asked for
``bench/http.py``: run as a script, a file of that name would shadow the standard library's
``http`` package, which urllib imports.)
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

import argparse  # noqa: E402
import http.client  # noqa: E402
import http.cookiejar  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402

ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
# bench/transfers.py: databases, seeding, pgbench.
_spec = importlib.util.spec_from_file_location("bench_transfers", HERE / "transfers.py")
transfers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(transfers)

APP_PORT, BARE_PORT, FLOOR_PORT = 8014, 8015, 8016
BASE_DOMAIN = f"bench.localhost:{APP_PORT}"
HOST = f"{transfers.SLUG}.{BASE_DOMAIN}"
PASSWORD = "bench-pass"  # every seeded member shares the coordinator's password hash


HISTORY_DAYS = 550
# Transfers between members other than the one with the long history: about 40 each.
GENERAL_HISTORY = 20_000

SEED_TRANSFERS = """
    INSERT INTO transfers (group_id, currency_id, payer_account_id, payee_account_id, amount,
                           description, state, kind, starter_id, completer_id, created_at,
                           completed_at)
    SELECT :group_id, :currency_id, payer.id, payee.id, h.amount, h.description, 'completed',
           'payment', payer.membership_id, payer.membership_id, h.at, h.at
      FROM (
            -- the long history: the first member pays and is paid in turn, by the others
            SELECT CASE WHEN n % 2 = 0 THEN 1 ELSE 3 + n % (:members - 2) END AS payer,
                   CASE WHEN n % 2 = 0 THEN 3 + n % (:members - 2) ELSE 1 END AS payee,
                   1 + n % 60 AS amount, 'history ' || n AS description,
                   now() - (:long - n) * (:days * interval '1 day' / :long) AS at
              FROM generate_series(1, :long) AS n
            UNION ALL
            -- everyone else (the second member, the "small account", included) trades too
            SELECT 2 + n % (:members - 1),
                   2 + (n % (:members - 1) + 1 + n / (:members - 1) % (:members - 2))
                       % (:members - 1),
                   1 + n % 120, 'trade ' || n,
                   now() - (:general - n) * (:days * interval '1 day' / :general)
              FROM generate_series(1, :general) AS n
           ) AS h
      JOIN unnest(CAST(:accounts AS integer[])) WITH ORDINALITY AS payer_slot(id, slot)
        ON payer_slot.slot = h.payer
      JOIN accounts AS payer ON payer.id = payer_slot.id
      JOIN unnest(CAST(:accounts AS integer[])) WITH ORDINALITY AS payee_slot(id, slot)
        ON payee_slot.slot = h.payee
      JOIN accounts AS payee ON payee.id = payee_slot.id
     ORDER BY h.at
"""
# Each transfer's two legs, with each account's running balance (the entries are written in
# transfer order, so ``balance_after`` is the running sum by entry id, as the ledger keeps it).
SEED_ENTRIES = """
    INSERT INTO entries (transfer_id, account_id, amount, created_at, group_id, balance_after)
    SELECT t.id, leg.account_id, leg.amount, t.completed_at, t.group_id,
           sum(leg.amount) OVER (PARTITION BY leg.account_id ORDER BY t.id)
      FROM transfers AS t
     CROSS JOIN LATERAL (VALUES (t.payer_account_id, -t.amount),
                                (t.payee_account_id, t.amount)) AS leg(account_id, amount)
     WHERE t.group_id = :group_id
     ORDER BY t.id, leg.amount
"""
SEED_BALANCES = """
    UPDATE accounts AS a SET balance = s.total
      FROM (SELECT account_id, sum(amount) AS total FROM entries GROUP BY account_id) AS s
     WHERE a.id = s.account_id AND a.group_id = :group_id
"""


def seed_history(database_url: str, group_id: int, member_ids: list[int], long: int) -> None:
    """Write a history in bulk, straight into the ledger's tables: member ``member_ids[0]``
    gets ``long`` completed transfers with the others (paid and received in turn), and
    ``GENERAL_HISTORY`` more pass between the other members (``member_ids[1]``, the small
    account, gets a few dozen), spread over the last ``HISTORY_DAYS`` days.

    Four statements instead of ``ledger_transfer`` once per transfer (which runs at about 70
    transfers/s on this machine while others work): the transfers, their entries with the
    running balance from a window function, the cached balances, the monthly totals
    (``ledger_rebuild_months``). The ledger's row triggers
    are off for that transaction (``session_replication_role = replica``, superuser only), so
    :func:`timebank.ledger.verify.verify_ledger` checks every invariant afterwards and the
    seeding stops if one is broken.
    """
    import sqlalchemy as sa

    from timebank.extensions import db
    from timebank.ledger.verify import verify_ledger
    from timebank.tenants import all_groups

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        currency_id, = connection.execute(sa.text(
            "SELECT id FROM currencies WHERE group_id = :group_id"), {"group_id": group_id}).one()
        by_member = dict(connection.execute(sa.text(
            "SELECT membership_id, id FROM accounts WHERE group_id = :group_id"
            " AND membership_id IS NOT NULL"), {"group_id": group_id}).all())
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        began = time.perf_counter()
        connection.execute(sa.text(SEED_TRANSFERS), {
            "group_id": group_id, "currency_id": currency_id, "long": long,
            "general": GENERAL_HISTORY, "days": HISTORY_DAYS, "members": len(member_ids),
            "accounts": [by_member[member_id] for member_id in member_ids]})
        connection.execute(sa.text(SEED_ENTRIES), {"group_id": group_id})
        connection.execute(sa.text(SEED_BALANCES), {"group_id": group_id})
        # Each account's monthly totals, as the ledger keeps them (its own rebuild).
        connection.execute(sa.text("SELECT ledger_rebuild_months(:group_id)"),
                           {"group_id": group_id})
        print(f"history written in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    app = transfers._app(database_url, None)
    with app.app_context(), all_groups():
        problems = verify_ledger(group_id=group_id)
        db.engine.dispose()
    if problems:
        raise SystemExit("the seeded ledger is broken:\n" + "\n".join(map(str, problems[:20])))
    print("ledger verified", file=sys.stderr)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("CHECKPOINT"))
    engine.dispose()


CONSOLE_GROUPS = 10_000


def seed_console(database_url: str, count: int = CONSOLE_GROUPS) -> str:
    """Add ``count`` groups with stored console figures (no members: the console reads the
    figures table, not the ledger) and make the bench group's coordinator a network admin.
    Returns the admin's email."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.execute(sa.text("""
            INSERT INTO groups (slug, name, description, status, join_policy, default_locale,
                                timezone, created_at, languages, place)
            SELECT 'g' || n, 'Group ' || md5(n::text), '', 'active', 'open', 'en', 'UTC',
                   now() - n * interval '1 hour', '{en}', 'Town ' || n % 500
              FROM generate_series(1, :count) AS n
        """), {"count": count})
        connection.execute(sa.text("""
            INSERT INTO group_figures (group_id, members, active_members, transfers, hours,
                                       refreshed_at)
            SELECT id, 5 + n * 7919 % 400, n * 104729 % 200, n * 15485863 % 5000,
                   (n * 32452843 % 100000) / 10.0, now()
              FROM groups, CAST(id AS bigint) AS n
             WHERE slug ~ '^g[0-9]+$'
        """))
        # Their last ledger check (each group has its row from a trigger), as the nightly
        # verify leaves it: most sound, one in 97 with problems, one in 50 not checked yet.
        connection.execute(sa.text("""
            UPDATE ledger_checks
               SET checked_at = now(),
                   problem_count = CASE WHEN n % 97 = 0 THEN 1 + n % 5 ELSE 0 END
              FROM groups, CAST(groups.id AS bigint) AS n
             WHERE groups.id = ledger_checks.group_id AND slug ~ '^g[0-9]+$' AND n % 50 <> 0
        """))
        email = connection.execute(sa.text(
            "UPDATE users SET is_network_admin = true WHERE email LIKE 'coordinator@%'"
            " RETURNING email")).scalar_one()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE groups"))
        connection.execute(sa.text("VACUUM ANALYZE group_figures"))
        connection.execute(sa.text("VACUUM ANALYZE ledger_checks"))
    engine.dispose()
    return email


def _members(database_url: str) -> list:
    """The seeded members (membership id, email), in order: the long history is member 0's,
    member 1 is the small account, member 2 pays, members 3 to 49 are paid."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        members = connection.execute(sa.text(
            "SELECT m.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id"
            " WHERE u.email LIKE 'member%' ORDER BY m.id")).all()
    engine.dispose()
    return members


def ledger_parties(database_url: str) -> list[int]:
    """The bare /ledger route's group, currency, payer and payees: POST /pay's."""
    import sqlalchemy as sa

    members = _members(database_url)
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        group, currency = connection.execute(sa.text(
            "SELECT c.group_id, c.id FROM currencies c JOIN memberships m"
            " ON m.group_id = c.group_id WHERE m.id = :id AND c.code = 'HOUR'"),
            {"id": members[2][0]}).one()
    engine.dispose()
    return [group, currency, members[2][0], *(row[0] for row in members[3:50])]


def record_dashboard(database_url: str) -> str:
    """Write the statements one dashboard view of the small account runs (profile_request.py
    --record, in one process) to a file for the bare app's /replay; return its path."""
    path = f"/tmp/bench-http-dashboard-{os.getpid()}.json"
    subprocess.run([sys.executable, str(HERE / "profile_request.py"), "/dashboard",
                    "--database", database_url, "--record", path],
                   check=True, capture_output=True)
    return path


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def start(command: list[str], env: dict, port: int) -> subprocess.Popen:
    # A server left from an earlier run would be measured in place of this one.
    if _answers(port):
        raise SystemExit(f"something already answers on port {port}: stop it first")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=open(f"/tmp/bench-http-{port}.log", "w"),
                               start_new_session=True)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except urllib.error.HTTPError:
            return process  # it answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answers on port {port}: see /tmp/bench-http-{port}.log")


def worker_memory(process: subprocess.Popen) -> tuple[float, float]:
    """The mean resident and proportional set size (MB) of a gunicorn master's workers (PSS
    shares the pages workers have in common, as ``--preload`` makes them)."""
    rss, pss = [], []
    for pid in _workers(process):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("Rss", "Pss"):
                (rss if name == "Rss" else pss).append(int(value.split()[0]) / 1024)
    return statistics.mean(rss), statistics.mean(pss)


def _workers(process: subprocess.Popen) -> list[str]:
    return Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()


def cpu_seconds(pids: list[str]) -> float:
    """The CPU time (user + system, seconds) the processes ``pids`` have used so far; a
    process that has ended counts nothing. (PostgreSQL's: ``transfers.server_cpu``.)"""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:  # the process has ended
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14, 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


class Session:
    """A logged-in person's cookies on one host (a group's, or the network's apex)."""

    def __init__(self, email: str, host: str = HOST):
        self.host = host
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.get("/login")
        self.post("/login", {"csrf_token": _token(page), "email": email, "password": PASSWORD})

    def _request(self, path: str, data: dict | None = None) -> str:
        request = urllib.request.Request(
            f"http://127.0.0.1:{APP_PORT}{path}", headers={"Host": self.host},
            data=urllib.parse.urlencode(data).encode() if data is not None else None)
        return self.opener.open(request).read().decode()

    def get(self, path: str) -> str:
        return self._request(path)

    def post(self, path: str, data: dict) -> str:
        return self._request(path, data)

    @property
    def headers(self) -> dict:
        """The headers wrk sends as this person."""
        return {"Host": self.host,
                "Cookie": "; ".join(f"{c.name}={c.value}" for c in self.jar)}


def floor_login(url: str) -> tuple[dict, str]:
    """Log in to ``floor_app.py``: the headers wrk sends (its session cookie) and the CSRF
    token its form takes."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = opener.open(f"{url}/start").read().decode()
    return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in jar)}, token


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def wrk(url: str, *, seconds: int, connections: int, headers: dict, script: str = "report.lua",
        args: list[str] = ()) -> dict:
    """Run wrk; return requests/s, p50 and p99 (ms), errors and bytes per request."""
    # A request slower than wrk's own 2 s timeout would count as an error, not in p99.
    command = ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d",
               f"{seconds}s", "--timeout", "30s", "-s", str(HERE / script)]
    # One connection a request, as production's nginx connects to gunicorn (no keepalive):
    # kept-alive connections would stay with the worker that took them, two of them sharing
    # one worker's interpreter for the whole run in some runs and not in others.
    for name, value in {**headers, "Connection": "close"}.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if args:
        command += ["--", *args]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = re.search(r"RESULT (.*)", output).group(1)
    figures = dict(item.split("=") for item in line.split())
    requests = int(figures["requests"])
    return {"requests": requests,
            "rate": requests / float(figures["seconds"]), "p50": float(figures["p50"]),
            "p99": float(figures["p99"]), "errors": int(figures["errors"]),
            "bytes": int(figures["bytes"]) / max(requests, 1)}


def first_byte(session: Session, path: str, times: int = 15) -> float:
    """The median seconds to the first useful byte of ``path`` (the end of its second line:
    a CSV's first row after its header) over ``times`` requests one after the other (each
    connection closed there). A pause follows each: the worker goes on writing a download cut
    off until a write fails (a chunk or two, ~80 ms of CPU for 1,000-row chunks), and that
    work beside the next request was what made the long account's figure 3-4 × the small one's.
    """
    firsts = []
    for _ in range(times):
        request = urllib.request.Request(f"http://127.0.0.1:{APP_PORT}{path}",
                                         headers=session.headers)
        began = time.perf_counter()
        with urllib.request.urlopen(request) as response:
            response.readline()
            response.readline()
            firsts.append(time.perf_counter() - began)
        time.sleep(0.3)
    return statistics.median(firsts)


def whole_download(session: Session, path: str) -> str:
    """Seconds and megabytes of one whole download of ``path``, or where it was cut off."""
    request = urllib.request.Request(f"http://127.0.0.1:{APP_PORT}{path}",
                                     headers=session.headers)
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(request) as response:
            size = len(response.read())
    except http.client.IncompleteRead as error:
        return (f"cut off after {time.perf_counter() - began:.0f} s at"
                f" {len(error.partial) / 1e6:.1f} MB")
    return f"whole in {time.perf_counter() - began:.1f} s, {size / 1e6:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1")
    parser.add_argument("--database", default="timebank_bench_http")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of the same load before each figure, not counted")
    parser.add_argument("--connections", type=int, default=4)
    # As production runs it (ansible/roles/web: gunicorn.conf.py.j2 and its defaults):
    # threaded workers (gthread) of two threads, 2 × CPUs + 1 of them, no preload, the app
    # from timebank:create_app(). The bare app always has one thread a worker (it keeps one
    # connection a process).
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--preload", action="store_true")
    parser.add_argument("--gunicorn-config", default=str(HERE / "gunicorn.conf.py"),
                        help="the app's gunicorn hooks (default: production's)")
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded databases")
    parser.add_argument("--only", nargs="*", help="names of figures to run")
    options = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    database_url = f"{options.server}/{options.database}"
    pgbench_database = f"{options.database}_pgbench"
    if not options.reuse:
        transfers._ensure_database(options.server, options.database)
        transfers._ensure_database(options.server, pgbench_database)
        # The planner's cost of a random read as production's PostgreSQL has it
        # (ansible/roles/postgresql: postgresql_random_page_cost).
        subprocess.run(["psql", f"{options.server}/postgres", "-qc",
                        f'ALTER DATABASE "{options.database}" SET random_page_cost = 1.1'],
                       check=True, capture_output=True)
        print("seeding", file=sys.stderr)
        group_id, member_ids = transfers.seed(database_url)
        seed_history(database_url, group_id, member_ids, options.history)
        seed_console(database_url)
        subprocess.run(["pgbench", "-i", "-q", "-s", "1", f"{options.server}/{pgbench_database}"],
                       check=True, capture_output=True)
    env = {**os.environ, "DATABASE_URL": database_url, "BASE_DOMAIN": BASE_DOMAIN,
           "REDIS_URL": "redis://127.0.0.1:6379/5",
           "RATELIMIT_ENABLED": "false", "BARE_DATABASE_URL": database_url,
           "BARE_PGBENCH_URL": f"{options.server}/{pgbench_database}",
           "BARE_LEDGER": ",".join(map(str, ledger_parties(database_url))),
           "BARE_REPLAY": record_dashboard(database_url)}
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "-w", str(options.workers)]
    app = start([*gunicorn, "--threads", str(options.threads),
                 *(["--preload"] if options.preload else []),
                 "-c", options.gunicorn_config,
                 "-b", f"127.0.0.1:{APP_PORT}", "timebank:create_app()"], env, APP_PORT)
    bare = start([*gunicorn, "-b", f"127.0.0.1:{BARE_PORT}", "--chdir", str(HERE),
                  "bare_app:app"], env, BARE_PORT)
    floor = start([*gunicorn, "-b", f"127.0.0.1:{FLOOR_PORT}", "--chdir", str(HERE),
                   "floor_app:app"], env, FLOOR_PORT)
    try:
        run(options, database_url, pgbench_database, app=app, bare=bare, floor=floor)
        for name, process in (("app", app), ("bare app", bare), ("floor app", floor)):
            rss, pss = worker_memory(process)
            threads = options.threads if name == "app" else 1
            print(f"* {name}: {options.workers} workers × {threads} threads,"
                  f" {rss:.0f} MB resident a worker ({pss:.0f} MB proportional)")
    finally:
        stop(app)
        stop(bare)
        stop(floor)


# Ratios the targets are stated in (bench/RESULTS.md): (label, figure, baseline).
RATE_RATIOS = [("POST /pay / bare /tpcb (target >= 0.35)", "POST /pay", "bare /tpcb"),
               # Not a target: the same database work as POST /pay without the framework.
               ("POST /pay / bare /ledger", "POST /pay", "bare /ledger"),
               # Not targets: the required libraries' least, against the same baselines.
               ("floor POST /pay / bare /tpcb", "floor POST /pay", "bare /tpcb"),
               ("floor POST /pay / bare /ledger", "floor POST /pay", "bare /ledger"),
               ("POST /pay / floor POST /pay", "POST /pay", "floor POST /pay"),
               ("dashboard / bare /select (target >= 0.10)", "dashboard", "bare /select"),
               # Not a target: the dashboard's own statements without the framework.
               ("dashboard / bare /replay of its statements", "dashboard",
                "bare /replay of the dashboard"),
               ("floor dashboard / bare /select", "floor dashboard", "bare /select"),
               ("dashboard / floor dashboard", "dashboard", "floor dashboard")]
# Latency against the small account's, and the console's sorts against its default order.
LATENCY_RATIOS = [("statement: 200k / small (target <= 1.5)", "statement, 200k", "statement"),
                  ("dashboard: 200k / small (target <= 1.5)", "dashboard, 200k", "dashboard")]
CONSOLE_SORTS = ["name", "slug", "status", "members", "active_members", "transfers", "hours",
                 "health"]


def run(options, database_url: str, pgbench_database: str, *, app: subprocess.Popen,
        bare: subprocess.Popen, floor: subprocess.Popen) -> None:
    import sqlalchemy as sa

    members = _members(database_url)
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        transfer_id = connection.execute(sa.text(
            "SELECT t.id FROM transfers t JOIN accounts a ON a.id = t.payee_account_id"
            " WHERE a.membership_id = :id ORDER BY t.id DESC LIMIT 1"),
            {"id": members[1][0]}).scalar_one()
        admin_email = connection.execute(sa.text(
            "SELECT email FROM users WHERE is_network_admin")).scalar_one()
    engine.dispose()
    # The long history is member 0's; member 1 is the small account; member 2 pays.
    big, small, payer = (Session(members[n][1]) for n in range(3))
    admin = Session(admin_email, host=BASE_DOMAIN)
    payees = ",".join(str(row[0]) for row in members[3:50])
    token = _token(payer.get("/pay"))
    connections = options.connections
    app_url, bare_url = f"http://127.0.0.1:{APP_PORT}", f"http://127.0.0.1:{BARE_PORT}"
    floor_url = f"http://127.0.0.1:{FLOOR_PORT}"
    floor_headers, floor_token = floor_login(floor_url)

    def page(session, path):
        return lambda seconds: wrk(app_url + path, seconds=seconds, connections=connections,
                                   headers=session.headers)

    def bare_route(path, script="report.lua"):
        return lambda seconds: wrk(bare_url + path, seconds=seconds, connections=connections,
                                   headers={}, script=script)

    # Each figure is measured for a number of seconds (a warm-up first, then the figure).
    figures = {
        "bare /select": bare_route("/select"),
        "bare /tpcb": bare_route("/tpcb", "post.lua"),
        "bare /ledger": bare_route("/ledger", "post.lua"),
        "bare /replay of the dashboard": bare_route("/replay"),
        "floor dashboard": lambda seconds: wrk(floor_url + "/dashboard", seconds=seconds,
                                               connections=connections, headers=floor_headers),
        "floor POST /pay": lambda seconds: wrk(floor_url, seconds=seconds,
                                               connections=connections, headers=floor_headers,
                                               script="pay.lua", args=[floor_token, payees]),
        "dashboard": page(small, "/dashboard"),
        "statement": page(small, "/statement"),
        "members": page(small, "/members/"),
        "marketplace": page(small, "/marketplace/"),
        "a transfer's page": page(small, f"/transfers/{transfer_id}"),
        "dashboard, 200k": page(big, "/dashboard"),
        "statement, 200k": page(big, "/statement"),
        "statement.csv": page(small, "/statement.csv"),
        "console": page(admin, "/network/"),
        **{f"console by {sort}": page(admin, f"/network/?sort={sort}")
           for sort in CONSOLE_SORTS},
        "POST /pay": lambda seconds: wrk(app_url, seconds=seconds, connections=connections,
                                         headers=payer.headers, script="pay.lua",
                                         args=[token, payees]),
    }
    results = {}
    for name, measure in figures.items():
        if options.only and name not in options.only:
            continue
        # The CPU the server's workers and PostgreSQL spend a request, beside the rate: on
        # two cores shared by wrk, gunicorn and PostgreSQL the rate also measures who waits.
        server = bare if name.startswith("bare") else floor if name.startswith("floor") else app
        workers = _workers(server)
        if options.warmup:  # every worker's first requests: templates, statements, kept rows
            measure(options.warmup)
        server_before, database_before = cpu_seconds(workers), transfers.server_cpu() or 0
        results[name] = measure(options.seconds)
        per_request = 1000 / max(results[name]["requests"], 1)  # ms
        results[name]["server_cpu"] = (cpu_seconds(workers) - server_before) * per_request
        results[name]["database_cpu"] = ((transfers.server_cpu() or 0) - database_before
                                         ) * per_request
        print(name, results[name], file=sys.stderr)
    pg = None
    if not options.only or "pgbench" in options.only:
        pg = transfers.run_pgbench(options.server, pgbench_database, connections,
                                   options.seconds, options.warmup)[0]
    print(f"\n| figure ({connections} connections, {options.seconds} s after {options.warmup} s"
          " of warm-up) | requests/s | p50 ms | p99 ms | p99/p50 | errors | KB a response"
          " | CPU ms a request: server + PostgreSQL |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['rate']:.0f} | {r['p50']:.1f} | {r['p99']:.1f}"
              f" | {r['p99'] / r['p50']:.1f} | {r['errors']} | {r['bytes'] / 1024:.1f}"
              f" | {r['server_cpu']:.2f} + {r['database_cpu']:.2f} |")
    if pg:
        print(f"| pgbench tpcb-like | {pg:.0f} | | | | | | |")
    print()
    failed = {name: r["errors"] for name, r in results.items() if r["errors"]}
    if failed:  # a figure with errors measured failures (see /tmp/bench-http-*.log), not pages
        print(f"* ERRORS, see /tmp/bench-http-{APP_PORT}.log: {failed}")
    for label, top, bottom in RATE_RATIOS:
        if top in results and bottom in results:
            cpu = {name: results[name]["server_cpu"] + results[name]["database_cpu"]
                   for name in (top, bottom)}
            print(f"* {label}: {results[top]['rate'] / results[bottom]['rate']:.2f};"
                  f" in CPU a request (server + PostgreSQL), {bottom} / {top}:"
                  f" {cpu[bottom] / cpu[top]:.2f}")
    if pg and "POST /pay" in results:
        print(f"* POST /pay / pgbench: {results['POST /pay']['rate'] / pg:.2f}")
    for label, top, bottom in LATENCY_RATIOS:
        if top in results and bottom in results:
            print(f"* {label}: p50 {results[top]['p50'] / results[bottom]['p50']:.2f},"
                  f" requests/s {results[bottom]['rate'] / results[top]['rate']:.2f}")
    if "console" in results:
        for sort in CONSOLE_SORTS:
            if f"console by {sort}" in results:
                sorted_ = results[f"console by {sort}"]
                print(f"* console by {sort} / default order (target <= 1.5): p50"
                      f" {sorted_['p50'] / results['console']['p50']:.2f}")
    if not options.only or "csv" in options.only:
        small_first = first_byte(small, "/statement.csv")
        big_first = first_byte(big, "/statement.csv")
        print(f"* statement.csv first row (medians of 15): small {small_first * 1000:.1f} ms,"
              f" 200k {big_first * 1000:.1f} ms; 200k / small (target <= 1.5):"
              f" {big_first / small_first:.2f}")
        for label, session in (("small", small), ("200k", big)):
            print(f"* statement.csv, {label}: {whole_download(session, '/statement.csv')}")


if __name__ == "__main__":
    main()
