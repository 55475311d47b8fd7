"""Benchmark: pages and payments through gunicorn with wrk, beside a bare Flask app and pgbench.

In one run, on one PostgreSQL server (issue 14):

* ``POST /pay`` (session, CSRF, idempotency key, 302) against ``bare_app.py``'s ``/tpcb``
  (pgbench's five TPC-B-like statements in one transaction, through Flask and gunicorn) and
  against pgbench itself, at ``--connections``;
* the dashboard against ``bare_app.py``'s ``/select`` (one SELECT); statement, members,
  marketplace and the group ledger beside them;
* statement, dashboard and CSV of a member with ``--history`` transfers (200,000) beside a
  member with a few dozen (the first byte of the CSV, and the whole of it).

The app and the bare app run under gunicorn with ``--workers`` sync workers each, the app with
``--preload`` unless ``--no-preload``. Seeding: bench/transfers.py's group of 1,000 members and
20,000 transfers, then the long history written by ``ledger_transfer`` in the database, spread
over the last ~550 days. Figures are printed as a Markdown table (bench/RESULTS.md).

    python bench/http_load.py                        # seed, then 10 s per figure at 4 connections
    python bench/http_load.py --reuse --seconds 20   # keep the seeded database

Needs ``wrk`` (Debian: ``apt-get install wrk``) and ``pgbench``.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

import argparse  # noqa: E402
import http.cookiejar  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
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

APP_PORT, BARE_PORT = 8014, 8015
BASE_DOMAIN = f"bench.localhost:{APP_PORT}"
HOST = f"{transfers.SLUG}.{BASE_DOMAIN}"
PASSWORD = "bench-pass"  # every seeded member shares the coordinator's password hash


def seed_long_history(database_url: str, group_id: int, member_ids: list[int],
                      count: int) -> None:
    """Give member ``member_ids[0]`` ``count`` completed transfers with the others, written by
    ``ledger_transfer`` one by one (balances after each entry as in production), alternately
    paid and received, dated over the last ``count`` × 4 minutes."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("""
            SELECT ledger_transfer(:group_id,
                       CASE WHEN n % 2 = 0 THEN :big ELSE o.other END,
                       CASE WHEN n % 2 = 0 THEN o.other ELSE :big END,
                       c.id, NULL, NULL, 1 + n % 60, 'history ' || n, 'payment',
                       'completed', CASE WHEN n % 2 = 0 THEN :big ELSE o.other END, NULL,
                       now() - (:count - n) * interval '4 minutes')
              FROM generate_series(1, :count) AS n,
                   LATERAL (SELECT (CAST(:others AS integer[]))[1 + n % :others_count]
                             WHERE n > 0) AS o(other),
                   currencies AS c
             WHERE c.group_id = :group_id
        """), {"group_id": group_id, "big": member_ids[0], "others": member_ids[2:],
               "others_count": len(member_ids) - 2, "count": count})
        connection.execute(sa.text("DELETE FROM transfer_notices"))
        connection.execute(sa.text("VACUUM ANALYZE"))
        connection.execute(sa.text("CHECKPOINT"))
    engine.dispose()


def start(command: list[str], env: dict, port: int) -> subprocess.Popen:
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


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


class Session:
    """A logged-in member's cookies, as a wrk header."""

    def __init__(self, email: str):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.get("/login")
        self.post("/login", {"csrf_token": _token(page), "email": email, "password": PASSWORD})

    def _request(self, path: str, data: dict | None = None) -> str:
        request = urllib.request.Request(
            f"http://127.0.0.1:{APP_PORT}{path}", headers={"Host": HOST},
            data=urllib.parse.urlencode(data).encode() if data is not None else None)
        return self.opener.open(request).read().decode()

    def get(self, path: str) -> str:
        return self._request(path)

    def post(self, path: str, data: dict) -> str:
        return self._request(path, data)

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def wrk(url: str, *, seconds: int, connections: int, headers: dict, script: str = "report.lua",
        args: list[str] = ()) -> dict:
    """Run wrk; return requests/s, p50 and p99 (ms), errors and bytes per request."""
    command = ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d",
               f"{seconds}s", "-s", str(HERE / script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if args:
        command += ["--", *args]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = re.search(r"RESULT (.*)", output).group(1)
    figures = dict(item.split("=") for item in line.split())
    requests = int(figures["requests"])
    return {"rate": requests / float(figures["seconds"]), "p50": float(figures["p50"]),
            "p99": float(figures["p99"]), "errors": int(figures["errors"]),
            "bytes": int(figures["bytes"]) / max(requests, 1)}


def first_byte(session: Session, path: str) -> tuple[float, float, int]:
    """Seconds to the first byte and to the last of ``path``, and its size (one request)."""
    request = urllib.request.Request(f"http://127.0.0.1:{APP_PORT}{path}",
                                     headers={"Host": HOST, "Cookie": session.cookie})
    began = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        response.read(1)
        first = time.perf_counter() - began
        size = 1 + len(response.read())
    return first, time.perf_counter() - began, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1")
    parser.add_argument("--database", default="timebank_bench_http")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded databases")
    parser.add_argument("--no-preload", action="store_true")
    parser.add_argument("--only", nargs="*", help="names of figures to run")
    options = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    database_url = f"{options.server}/{options.database}"
    pgbench_database = f"{options.database}_pgbench"
    if not options.reuse:
        transfers._ensure_database(options.server, options.database)
        transfers._ensure_database(options.server, pgbench_database)
        print("seeding", file=sys.stderr)
        group_id, member_ids = transfers.seed(database_url)
        transfers.settle(database_url, group_id, member_ids)
        seed_long_history(database_url, group_id, member_ids, options.history)
        subprocess.run(["pgbench", "-i", "-q", "-s", "1", f"{options.server}/{pgbench_database}"],
                       check=True, capture_output=True)
    env = {**os.environ, "DATABASE_URL": database_url, "BASE_DOMAIN": BASE_DOMAIN,
           "REDIS_URL": "redis://127.0.0.1:6379/5",
           "RATELIMIT_ENABLED": "false", "BARE_DATABASE_URL": database_url,
           "BARE_PGBENCH_URL": f"{options.server}/{pgbench_database}"}
    gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "-w", str(options.workers)]
    app = start([*gunicorn, *([] if options.no_preload else ["--preload"]),
                 "-b", f"127.0.0.1:{APP_PORT}", "wsgi:app"], env, APP_PORT)
    bare = start([*gunicorn, "-b", f"127.0.0.1:{BARE_PORT}", "--chdir", str(HERE),
                  "bare_app:app"], env, BARE_PORT)
    try:
        run(options, database_url, pgbench_database)
    finally:
        stop(app)
        stop(bare)


def run(options, database_url: str, pgbench_database: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        members = connection.execute(sa.text(
            "SELECT m.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id"
            " WHERE u.email LIKE 'member%' ORDER BY m.id")).all()
    engine.dispose()
    big, small = Session(members[0][1]), Session(members[1][1])
    payees = ",".join(str(row[0]) for row in members[2:50])
    token = _token(small.get("/pay"))
    seconds, connections = options.seconds, options.connections
    app, bare = f"http://127.0.0.1:{APP_PORT}", f"http://127.0.0.1:{BARE_PORT}"

    def page(session, path):
        return lambda: wrk(app + path, seconds=seconds, connections=connections,
                           headers={"Host": HOST, "Cookie": session.cookie})

    figures = {
        "bare /select": lambda: wrk(bare + "/select", seconds=seconds, connections=connections,
                                    headers={}),
        "bare /tpcb": lambda: wrk(bare + "/tpcb", seconds=seconds, connections=connections,
                                  headers={}, script="report.lua"),
        "POST /pay": lambda: wrk(app, seconds=seconds, connections=connections,
                                 headers={"Host": HOST, "Cookie": small.cookie},
                                 script="pay.lua", args=[token, payees]),
        "dashboard": page(small, "/dashboard"),
        "statement": page(small, "/statement"),
        "members": page(small, "/members/"),
        "marketplace": page(small, "/marketplace/"),
        "dashboard, 200k history": page(big, "/dashboard"),
        "statement, 200k history": page(big, "/statement"),
        "statement.csv": page(small, "/statement.csv"),
        "statement.csv, 200k history": page(big, "/statement.csv"),
    }
    results = {}
    for name, measure in figures.items():
        if options.only and name not in options.only:
            continue
        results[name] = measure()
        print(name, results[name], file=sys.stderr)
    pg = None
    if not options.only or "pgbench" in options.only:
        pg = transfers.run_pgbench(options.server, pgbench_database, connections, seconds, 0)[0]
    print(f"\n| figure ({connections} connections, {seconds} s) | requests/s | p50 ms | p99 ms"
          " | errors | bytes |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['rate']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']}"
              f" | {r['bytes']:.0f} |")
    if pg:
        print(f"| pgbench tpcb-like | {pg:.0f} | | | | |")
    ratios = [("POST /pay / bare /tpcb", "POST /pay", "bare /tpcb"),
              ("dashboard / bare /select", "dashboard", "bare /select"),
              ("statement: small / 200k (time ratio)", "statement", "statement, 200k history"),
              ("dashboard: small / 200k (time ratio)", "dashboard", "dashboard, 200k history")]
    print()
    for label, top, bottom in ratios:
        if top in results and bottom in results:
            print(f"* {label}: {results[top]['rate'] / results[bottom]['rate']:.2f}")
    if pg and "POST /pay" in results:
        print(f"* POST /pay / pgbench: {results['POST /pay']['rate'] / pg:.2f}")
    for label, session in (("small", small), ("200k", big)):
        first, total, size = first_byte(session, "/statement.csv")
        print(f"* statement.csv, {label}: first byte {first * 1000:.0f} ms, whole"
              f" {total * 1000:.0f} ms, {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
