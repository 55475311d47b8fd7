"""Profile one page or POST /pay in one process, on the database ``bench/http_load.py`` seeded.

Where a request's CPU goes, function by function (cProfile, process time), and which statements
it runs (with their time), without gunicorn or wrk in the way. Run ``bench/http_load.py`` once
first (it seeds ``timebank_bench_http``), then for example:

    python bench/profile_request.py /dashboard              # member 1, the small account
    python bench/profile_request.py /statement --member 0   # the 200,000-transfer account
    python bench/profile_request.py pay --times 300         # POST /pay, as bench/pay.lua does
    python bench/profile_request.py /dashboard --sort tottime --top 40
    python bench/profile_request.py /dashboard --record /tmp/dashboard.json  # for /replay
    python bench/profile_request.py /network/ --admin      # the console, as the network admin
    python bench/profile_request.py /coordinator --coordinator  # as the group's coordinator
"""

import argparse
import cProfile
import functools
import importlib.util
import json
import os
import pstats
import re
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@functools.cache
def _transfers():
    spec = importlib.util.spec_from_file_location("bench_transfers", ROOT / "bench/transfers.py")
    transfers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(transfers)
    return transfers


def postgres_cpu() -> float:
    """The CPU seconds this machine's PostgreSQL has used so far (bench/transfers.py's
    ``server_cpu``; 0 when the server is on another host)."""
    return _transfers().server_cpu() or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", help="a page's path, or 'pay' for POST /pay")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1/timebank_bench_http")
    parser.add_argument("--member", type=int, default=1, help="0: the long history; 1: small")
    parser.add_argument("--admin", action="store_true",
                        help="as the network admin, on the network's host (the console)")
    parser.add_argument("--coordinator", action="store_true",
                        help="as the group's coordinator (the coordinator's pages)")
    parser.add_argument("--times", type=int, default=200)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--no-cprofile", action="store_true",
                        help="time only (for a sampling profiler such as py-spy)")
    parser.add_argument("--statements", action="store_true", help="print each statement once")
    parser.add_argument("--dump", metavar="FILE",
                        help="also write the profile to FILE (pstats, for print_callers)")
    parser.add_argument("--record", metavar="FILE",
                        help="write one request's statements and parameters to FILE (JSON,"
                             " for bare_app.py's /replay) and stop")
    options = parser.parse_args()
    os.environ.update(DATABASE_URL=options.database, BASE_DOMAIN="bench.localhost:8014",
                      RATELIMIT_ENABLED="false", REDIS_URL="redis://127.0.0.1:6379/5")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    import sqlalchemy as sa

    from timebank import create_app
    from timebank.extensions import db

    app = create_app()
    host = "bench.localhost:8014" if options.admin else "bench.bench.localhost:8014"
    with app.app_context():
        with db.engine.connect() as connection:
            members = connection.execute(sa.text(
                "SELECT m.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id"
                " WHERE u.email LIKE 'member%' ORDER BY m.id")).all()
            admin_email = connection.execute(sa.text(
                "SELECT email FROM users WHERE is_network_admin")).scalar_one()
    client = app.test_client()
    page = client.get("/login", headers={"Host": host}).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    email = (admin_email if options.admin or options.coordinator  # one person, both roles
             else members[2 if options.path == "pay" else options.member][1])
    client.post("/login", headers={"Host": host},
                data={"csrf_token": token, "email": email, "password": "bench-pass"})
    payees = [row[0] for row in members[3:50]]
    if options.path == "pay":
        page = client.get("/pay", headers={"Host": host}).text  # the logged-in session's token
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    counter = iter(range(10**9))
    # Each request sends the cookies of the login, as wrk does (a flash message set by one
    # payment is not carried into the next).
    cookies = dict(client._cookies)

    def once():
        client._cookies = dict(cookies)
        if options.path != "pay":
            return client.get(options.path, headers={"Host": host})
        n = next(counter)
        return client.post("/pay", headers={"Host": host}, data={
            "csrf_token": token, "payee": payees[n % len(payees)], "currency": "HOUR",
            "amount": "0:01", "description": "bench",
            "idempotency_key": secrets.token_hex(8)})

    statements: list[tuple[str, float]] = []
    recorded: list[dict] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["began"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, time.perf_counter() - conn.info.pop("began")))
        recorded.append({"sql": statement, "parameters": parameters})

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", before)
        sa.event.listen(db.engine, "after_cursor_execute", after)
    for _ in range(20):  # warm up: caches, compiled templates, the pool, prepared statements
        response = once()
    expected = 302 if options.path == "pay" else 200
    if response.status_code != expected:
        raise SystemExit(f"{options.path} answered {response.status_code}")
    statements.clear()
    recorded.clear()
    once()
    one_request = list(statements)
    if options.record:
        Path(options.record).write_text(json.dumps(recorded, default=str))
        print(f"{options.path}: {len(recorded)} statements written to {options.record}")
        return
    print(f"{options.path}: {len(one_request)} statements a request,"
          f" {sum(t for _, t in one_request) * 1000:.2f} ms in them")
    if options.statements:
        for statement, seconds in one_request:
            print(f"{seconds * 1000:7.2f} ms  {' '.join(statement.split())[:160]}")
    began, cpu, database = time.perf_counter(), time.process_time(), postgres_cpu()
    for _ in range(options.times):
        once()
    print(f"{options.path}: {(time.process_time() - cpu) / options.times * 1000:.2f} ms CPU"
          f" (PostgreSQL {(postgres_cpu() - database) / options.times * 1000:.2f} ms),"
          f" {(time.perf_counter() - began) / options.times * 1000:.2f} ms wall a request"
          f" (not profiled, over {options.times})")
    if options.no_cprofile:
        return
    profile = cProfile.Profile(time.process_time)
    began, cpu = time.perf_counter(), time.process_time()
    profile.enable()
    for _ in range(options.times):
        once()
    profile.disable()
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    pstats.Stats(profile).sort_stats(options.sort).print_stats(options.top)
    if options.dump:
        profile.dump_stats(options.dump)
    print(f"{options.path}: {cpu / options.times * 1000:.2f} ms CPU and"
          f" {wall / options.times * 1000:.2f} ms wall a request (profiled, over {options.times})")


if __name__ == "__main__":
    main()
