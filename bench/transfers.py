"""Benchmark: completed transfers per second through the ledger service, beside pgbench.

For 1, 2 and 4 concurrent workers (processes, each with its own connection), every worker pays
random amounts between random members of one group of 1,000 accounts through
``timebank.ledger.service.pay`` inside the real transaction boundary
(:func:`~timebank.boundary.run_in_transaction`): one call of the database function
``ledger_transfer`` (party checks, row locks, limit checks with pending amounts, the transfer,
two entries checked as its legs, both balances, the mail notice), the deferred check that the
completed transfer has both legs, one commit, and the
"delivery job waiting" mark set in Redis after it. In the same run, on the same PostgreSQL
server, pgbench's built-in TPC-B-like script runs with the same client counts; the ratio
ours / pgbench is printed, with each side's CPU milliseconds per transaction over the same
seconds (our workers or pgbench itself, and the whole PostgreSQL server when it runs on this
machine).

    python bench/transfers.py                      # 10 s per run, 1/2/4 clients
    python bench/transfers.py --seconds 20 --clients 1 2 4 8 --write bench/RESULTS.md
    python bench/transfers.py --clients 4 --intergroup   # also payments between two groups
    python bench/transfers.py --clients 4 --levy         # also with a 2 % levy (issue 20)

Databases (created if missing, rebuilt each run): ``--database`` for the app (default
``timebank_bench``) and ``<database>_pgbench`` for pgbench, on the server of ``--server``
(default ``postgresql://postgres@127.0.0.1``). ``--redis-url`` (default
``redis://127.0.0.1:6379/5``) receives the mail delivery job; nothing consumes it, and the queue
is emptied at the end.
"""

import argparse
import multiprocessing
import os
import platform
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACCOUNTS = 1000
SLUG = "bench"


def _app(database_url: str, redis_url: str | None):
    from timebank import create_app

    return create_app({
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "MAIL_SUPPRESS_SEND": True,
        "TESTING": False, "BASE_DOMAIN": "bench.localhost",
        "SECRET_KEY": os.urandom(32).hex(),  # required outside tests; the bench keeps nothing
        # The server's superuser would pass row-level security: measure the fenced app.
        "DATABASE_APP_ROLE": "timebank_app",
        # Each worker is one client: one pooled connection is all it needs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 2, "max_overflow": 0},
    })


def _ensure_database(server: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(f"{server.replace('postgresql://', 'postgresql+psycopg://')}"
                              "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def seed(database_url: str, slug: str = SLUG) -> tuple[int, list[int]]:
    """Migrate, then create one group with ``ACCOUNTS`` active members (rows written directly:
    hashing 1,000 passwords is not what is measured). Returns (group id, membership ids)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from timebank.extensions import db
    from timebank.ledger import service as ledger
    from timebank.models import Currency, Membership, MembershipStatus, Role, User
    from timebank.provisioning.service import create_group
    from timebank.tenants import group_context

    app = _app(database_url, None)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        group = create_group(name=f"Bench {slug}", slug=slug, default_locale="en",
                             coordinator_email=f"coordinator@{slug}.example.org",
                             coordinator_name="Coordinator", coordinator_password="bench-pass")
        db.session.commit()
        with group_context(group.id):
            currency = db.session.scalar(sa.select(Currency))
            # Wide limits: the benchmark measures throughput, not refusals.
            currency.default_min_balance = -1_000_000 * 60
            hashed = db.session.scalar(sa.select(User.password_hash))
            users = [User(email=f"member{n}@{slug}.example.org", name=f"Member {n}",
                          password_hash=hashed) for n in range(ACCOUNTS)]
            db.session.add_all(users)
            db.session.flush()
            memberships = [Membership(user_id=user.id, group_id=group.id, role=Role.MEMBER,
                                      status=MembershipStatus.ACTIVE) for user in users]
            db.session.add_all(memberships)
            db.session.flush()
            for membership in memberships:
                ledger.open_account(membership=membership, currency=currency)
            db.session.commit()
            ids = [membership.id for membership in memberships]
            group_id = group.id
        db.session.commit()
        db.engine.dispose()
    return group_id, ids


HISTORY = 20_000


def open_trading(database_url: str, group_ids: list[int]) -> None:
    """Let the bench groups trade with each other, with bounds no payment reaches."""
    import sqlalchemy as sa

    from timebank.extensions import db
    from timebank.ledger import service as ledger
    from timebank.models import Group, Membership, Role
    from timebank.tenants import group_context
    from timebank.trading import service as trading

    app = _app(database_url, None)
    with app.app_context():
        for group_id in group_ids:
            with group_context(group_id):
                coordinator = db.session.scalar(
                    sa.select(Membership).where(Membership.role == Role.COORDINATOR))
                trading.set_trading(
                    group=db.session.get(Group, group_id), trades_with_network=True,
                    trades_with_all_groups=True, partner_ids=[],
                    bounds={ledger.default_currency().id: (10**9, 10**9)}, by=coordinator)
        db.session.commit()
        db.engine.dispose()


def set_levy(database_url: str, group_id: int, basis_points: int) -> None:
    """Set the bench currency's levy (paid by the payer to the community pot, at least one
    subunit so that every payment writes one; 0: none)."""
    from timebank.extensions import db
    from timebank.ledger import levies
    from timebank.ledger import service as ledger
    from timebank.tenants import group_context

    app = _app(database_url, None)
    with app.app_context(), group_context(group_id):
        levies.set_levy(currency=ledger.default_currency(), basis_points=basis_points, fixed=0,
                        minimum=1 if basis_points else None, maximum=None,
                        charged_to="payer", changed_by=None)
        db.session.commit()
        db.engine.dispose()


def settle(database_url: str, group_id: int, member_ids: list[int],
           history: int = HISTORY) -> None:
    """Give the ledger a history (``HISTORY`` completed transfers between random members,
    written by ``ledger_transfer`` in the database, their mail notices dropped), vacuum and
    analyze, then checkpoint the server: the planner sees tables of a realistic size and the
    seeding's (and pgbench's initialisation's) dirty pages are written before anything is
    measured."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("""
            SELECT ledger_transfer(:group_id, pair[1], pair[2], c.id, NULL, NULL,
                                   1 + n % 120, 'history', 'payment', 'completed', pair[1],
                                   NULL, now())
              FROM generate_series(1, :count) AS n,
                   LATERAL (SELECT ARRAY(SELECT id FROM unnest(CAST(:ids AS integer[])) AS id
                                          WHERE n > 0 ORDER BY random() LIMIT 2)) AS p(pair),
                   currencies AS c
             WHERE c.group_id = :group_id
        """), {"group_id": group_id, "count": history, "ids": member_ids})
        connection.execute(sa.text("DELETE FROM transfer_notices"))
        connection.execute(sa.text("VACUUM ANALYZE"))
        connection.execute(sa.text("CHECKPOINT"))
    engine.dispose()


def worker(database_url, redis_url, group_id, member_ids, seconds, warmup, seed_value, ready,
           start, sampled, results, other=None):
    """One client: pay between random members until the time is up; report the counts and the
    CPU seconds this process used while counting. With ``other`` (a second group's id and
    member ids) every payment crosses between the two groups, in both directions."""
    import sqlalchemy as sa

    from timebank.boundary import run_in_transaction
    from timebank.extensions import db
    from timebank.ledger import service as ledger
    from timebank.ledger.errors import LedgerError
    from timebank.models import Membership
    from timebank.tenants import group_context

    app = _app(database_url, redis_url)
    rng = random.Random(seed_value)
    completed = refused = 0
    with app.test_request_context(), group_context(group_id):
        # A long-lived client holds its parties: the service re-reads and locks in the
        # database everything a transfer depends on (status, balances, limits), so the rows
        # loaded here need not be reloaded after every commit.
        db.session().expire_on_commit = False
        currency = ledger.default_currency()
        members = {m.id: m for m in db.session.scalars(
            sa.select(Membership).where(Membership.id.in_(member_ids)))}
        if other is not None:
            from timebank.ledger import intergroup
            from timebank.models import Currency
            from timebank.tenants import all_groups

            other_group, other_ids = other
            with all_groups():
                members |= {m.id: m for m in db.session.scalars(
                    sa.select(Membership).where(Membership.id.in_(other_ids)))}
                currencies = {g: db.session.scalar(sa.select(Currency).where(
                    Currency.group_id == g).order_by(Currency.id).limit(1))
                    for g in (group_id, other_group)}
        ready.set()
        start.wait()
        began = time.perf_counter()
        counting_from, deadline = began + warmup, began + warmup + seconds
        cpu_from = None
        while (now := time.perf_counter()) < deadline:
            counted = now >= counting_from
            if counted and cpu_from is None:
                cpu_from = time.process_time()
            amount = rng.randint(1, 120)
            if other is None:
                payer_id, payee_id = rng.sample(member_ids, 2)

                def pay(payer=members[payer_id], payee=members[payee_id], amount=amount):
                    return ledger.pay(payer=payer, payee=payee, currency=currency,
                                      amount=amount, description="bench", starter=payer)
            else:
                sides = [member_ids, other[1]]
                rng.shuffle(sides)
                payer, payee = members[rng.choice(sides[0])], members[rng.choice(sides[1])]

                def pay(payer=payer, payee=payee, amount=amount):
                    return intergroup.pay_across(
                        payer=payer, payee=payee, payer_currency=currencies[payer.group_id],
                        payee_currency=currencies[payee.group_id], amount=amount,
                        description="bench", starter=payer)

            try:
                run_in_transaction(pay)
                completed += counted
            except LedgerError:
                refused += counted
        cpu = time.process_time() - (cpu_from or time.process_time())
        sampled.wait(timeout=60)  # the connection stays open until its server CPU is read
        db.engine.dispose()
    results.put((completed, refused, cpu))


def run_ours(database_url, redis_url, group_id, member_ids, clients, seconds,
             warmup, other=None) -> tuple[float, float | None, float | None]:
    """Returns transfers per second, and the CPU milliseconds per transfer of the workers and
    of the database server (None when the server is not on this machine)."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start, sampled = context.Event(), context.Event()
    readies = [context.Event() for _ in range(clients)]
    processes = [
        context.Process(target=worker, args=(database_url, redis_url, group_id, member_ids,
                                              seconds, warmup, n, readies[n], start, sampled,
                                              results, other))
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    for ready in readies:
        ready.wait(timeout=120)
    start.set()
    time.sleep(warmup)
    server_from = server_cpu()
    time.sleep(seconds)
    # Read while the workers' backends are still alive: one reaped in the middle of the scan
    # would be counted neither as a process nor in the postmaster's children's time.
    server_used = _used(server_from, server_cpu())
    sampled.set()
    counts = [results.get(timeout=warmup + seconds + 120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    completed = sum(c for c, _, _ in counts)
    app = sum(cpu for _, _, cpu in counts)
    return completed / seconds, _per(app, completed), _per(server_used, completed)


def server_cpu() -> float | None:
    """CPU seconds the PostgreSQL server on this machine has used so far: every live
    ``postgres`` process, plus the exited backends the postmaster has reaped (its children's
    time). None when no such process is visible (a server on another host)."""
    total, seen, tick = 0, False, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process has just exited
        name, _, rest = text[text.index("(") + 1:].partition(") ")
        if name == "postgres":
            fields = rest.split()
            total += sum(int(fields[n]) for n in (11, 12, 13, 14))  # u, s, children u, s
            seen = True
    return total / tick if seen else None


def _used(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _per(cpu_seconds: float | None, transfers: int) -> float | None:
    return None if cpu_seconds is None or not transfers else 1000 * cpu_seconds / transfers


def _reset_queue(redis_url: str | None) -> None:
    """Empty the job queue and clear the "delivery job waiting" marks."""
    if not redis_url:
        return
    from redis import Redis
    from rq import Queue

    from timebank.tasks import ONCE_PREFIX

    redis = Redis.from_url(redis_url)
    Queue("timebank", connection=redis).empty()
    for key in redis.scan_iter(f"{ONCE_PREFIX}*"):
        redis.delete(key)


def pgbench_init(server: str, database: str, scale: int) -> None:
    _ensure_database(server, database)
    subprocess.run(["pgbench", "-i", "-q", "-s", str(scale), _libpq(server, database)],
                   check=True, capture_output=True)


def run_pgbench(server: str, database: str, clients: int, seconds: int,
                warmup: int) -> tuple[float, float | None, float | None]:
    """Returns pgbench's transactions per second, and the CPU milliseconds per transaction of
    pgbench itself and of the database server (None when the server is not on this machine)."""
    command = ["pgbench", "-b", "tpcb-like", "-n", "-c", str(clients), "-j", str(clients)]
    if warmup:  # the same warm-up as ours, not counted
        subprocess.run([*command, "-T", str(warmup), _libpq(server, database)],
                       check=True, capture_output=True)
    client_from, server_from = _children_cpu(), server_cpu()
    result = subprocess.run([*command, "-T", str(seconds), _libpq(server, database)],
                            check=True, capture_output=True, text=True)
    time.sleep(0.5)  # the postmaster reaps the exited backends
    server_used = _used(server_from, server_cpu())
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    done = re.search(r"number of transactions actually processed: (\d+)", result.stdout)
    transactions = int(done.group(1))
    return (float(match.group(1)), _per(_children_cpu() - client_from, transactions),
            _per(server_used, transactions))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _libpq(server: str, database: str) -> str:
    return f"{server}/{database}"


def _server_version(database_url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        version = connection.execute(sa.text("SHOW server_version")).scalar()
    engine.dispose()
    return version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER",
                                                           "postgresql://postgres@127.0.0.1"))
    parser.add_argument("--database", default="timebank_bench")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                              "redis://127.0.0.1:6379/5"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5,
                        help="seconds each run works before it counts (caches, WAL after the "
                             "seeding's checkpoint); the same for pgbench")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--pgbench-scale", type=int, default=4,
                        help="pgbench -s (4 branches: 4 clients rarely wait on one row)")
    parser.add_argument("--intergroup", action="store_true",
                        help="also measure payments between two groups (issue 18), each "
                             "between random members of the two, in both directions")
    parser.add_argument("--levy", action="store_true",
                        help="also measure local payments with a 2 %% levy set, at least one "
                             "minute (every payment pays one; issue 20), run right after the "
                             "same client count without one")
    parser.add_argument("--history", type=int, default=HISTORY,
                        help="transfers of history written before measuring (one statement: "
                             "slow on a loaded machine)")
    parser.add_argument("--write", help="also write the results as Markdown to this file")
    args = parser.parse_args()
    redis_url = args.redis_url or None

    database_url = f"{args.server}/{args.database}"
    _ensure_database(args.server, args.database)
    group_id, member_ids = seed(database_url)
    other = None
    if args.intergroup:
        other = seed(database_url, f"{SLUG}2")
        open_trading(database_url, [group_id, other[0]])
    pgbench_init(args.server, f"{args.database}_pgbench", args.pgbench_scale)
    settle(database_url, group_id, member_ids, args.history)

    rows = []
    load_before = os.getloadavg()[0]
    print(f"{'clients':>7} {'ours tx/s':>10} {'pgbench tps':>12} {'ratio':>6}   "
          "CPU ms per transaction: ours app + db, pgbench client + db")
    for clients in args.clients:
        _reset_queue(redis_url)  # each run starts with no delivery job waiting
        ours, app_ms, our_db_ms = run_ours(database_url, redis_url, group_id, member_ids,
                                           clients, args.seconds, args.warmup)
        theirs, client_ms, their_db_ms = run_pgbench(
            args.server, f"{args.database}_pgbench", clients, args.seconds, args.warmup)
        if args.levy:
            set_levy(database_url, group_id, 200)
            _reset_queue(redis_url)
            levied = run_ours(database_url, redis_url, group_id, member_ids, clients,
                              args.seconds, args.warmup)
            set_levy(database_url, group_id, 0)
            print(f"{'':>7} with a 2 % levy: {levied[0]:.0f} transfers/s "
                  f"({levied[0] / ours:.2f} of without, {levied[0] / theirs:.2f} of pgbench), "
                  f"CPU ms {_ms(levied[1])} + {_ms(levied[2])}", flush=True)
        crossing = None
        if other is not None:
            _reset_queue(redis_url)
            crossing = run_ours(database_url, redis_url, group_id, member_ids, clients,
                                args.seconds, args.warmup, other)
        row = (clients, ours, theirs, ours / theirs, app_ms, our_db_ms, client_ms, their_db_ms,
               crossing)
        rows.append(row)
        print(f"{clients:>7} {ours:>10.0f} {theirs:>12.0f} {ours / theirs:>6.2f}   "
              f"{_ms(app_ms)} + {_ms(our_db_ms)}, {_ms(client_ms)} + {_ms(their_db_ms)}",
              flush=True)
        if crossing is not None:
            print(f"{'':>7} between groups: {crossing[0]:.0f} payments/s "
                  f"({crossing[0] / ours:.2f} of local, {crossing[0] / theirs:.2f} of pgbench), "
                  f"CPU ms {_ms(crossing[1])} + {_ms(crossing[2])}", flush=True)

    _reset_queue(redis_url)
    load = (load_before, os.getloadavg()[0])
    print(f"load average (1 min) before/after: {load[0]:.1f} / {load[1]:.1f}")
    if args.write:
        _write(Path(args.write), rows, args, _server_version(database_url), load)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _write(path: Path, rows, args, version: str, load: tuple[float, float]) -> None:
    lines = [
        "# Ledger benchmark: completed transfers per second",
        "",
        f"`python bench/transfers.py --seconds {args.seconds} --warmup {args.warmup} --clients "
        f"{' '.join(map(str, args.clients))} --pgbench-scale {args.pgbench_scale}`, "
        f"{time.strftime('%Y-%m-%d')}, PostgreSQL {version}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; app, database and Redis on the same machine "
        f"(1-minute load average {load[0]:.1f} before, {load[1]:.1f} after).",
        "",
        f"Ours: `ledger.service.pay` between random members of one group of {ACCOUNTS:,} "
        f"accounts with {HISTORY:,} transfers of history, each call in its own transaction "
        "through `run_in_transaction`: one call of "
        "the database function `ledger_transfer` (party checks, account locks, limit check "
        "counting pending amounts, transfer + two entries checked as its legs, cached "
        "balances, mail notice), the deferred check that it has both legs, commit, the "
        "delivery mark in Redis. Theirs: pgbench's "
        "built-in TPC-B-like script on the same server, same client counts, same duration.",
        "",
        "CPU per transaction (ms) is measured over the same seconds: ours, the worker processes "
        "(app) and every PostgreSQL process (db); theirs, pgbench itself (client) and every "
        "PostgreSQL process (db). On a shared machine the two sides compete for the same CPUs.",
        "",
        "| clients | ours (transfers/s) | pgbench TPC-B-like (tps) | ratio "
        "| ours CPU ms: app + db | pgbench CPU ms: client + db |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {c} | {ours:.0f} | {theirs:.0f} | {ratio:.2f} | {_ms(app)} + {_ms(db_ms)} "
              f"| {_ms(client)} + {_ms(their_db)} |"
              for c, ours, theirs, ratio, app, db_ms, client, their_db, _ in rows]
    if any(row[-1] for row in rows):
        lines += ["", "Payments between two groups (`intergroup.pay_across`: two linked "
                  "transfers, four account locks, both groups' rules), same run:", "",
                  "| clients | between groups (payments/s) | of local | of pgbench "
                  "| CPU ms: app + db |", "|---:|---:|---:|---:|---:|"]
        lines += [f"| {row[0]} | {row[-1][0]:.0f} | {row[-1][0] / row[1]:.2f} "
                  f"| {row[-1][0] / row[2]:.2f} | {_ms(row[-1][1])} + {_ms(row[-1][2])} |"
                  for row in rows if row[-1]]
    lines += ["", "Target (issue 4): ratio ≥ 0.5 at 4 clients.", ""]
    # Keep the hand-written reading of the figures across runs.
    notes = path.read_text().partition("## Reading the figures")[1:] if path.exists() else ()
    path.write_text("\n".join(lines) + ("\n" + "".join(notes) if notes and notes[0] else ""))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
