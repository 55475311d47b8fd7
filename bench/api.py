"""Benchmark: a payment through the API beside one through the HTML form, in the same run.

Both go through the whole app in-process (Flask's test client: routing, tenancy, the
transaction boundary, the ledger's SQL function), on a fresh database seeded with the demo
network; no HTTP server, so the figures compare the two front doors, not gunicorn:

* API: ``POST /api/v1/transfers`` with a bearer token (token lookup, scope, policy, rate-limit
  counter, JSON parsing and serialization, an ``Idempotency-Key`` row);
* form: ``POST /pay`` with the session cookie, a CSRF token and the form's idempotency key
  (answered with a 302), as a browser sends it.

They alternate (API, form, API, ...) so that both see the same database. Printed: median and
p95 wall time per payment and CPU time of this process per payment.

    python bench/api.py [--payments 300] [--database-url postgresql://postgres@127.0.0.1/x]
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=300, help="of each kind")
    parser.add_argument("--database-url",
                        default="postgresql://postgres@127.0.0.1/timebank_bench_api")
    args = parser.parse_args()
    database = args.database_url.rsplit("/", 1)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                    f"DROP DATABASE IF EXISTS {database[1]} WITH (FORCE)"], check=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                    f"CREATE DATABASE {database[1]}"], check=True)
    os.environ.update(TIMEBANK_ENV="development", DATABASE_URL=args.database_url,
                      BASE_DOMAIN="localhost:5000", LOG_LEVEL="WARNING")
    os.environ.pop("REDIS_URL", None)

    import logging

    from flask_migrate import upgrade

    from timebank import create_app
    from timebank.demo import seed_demo
    from timebank.extensions import db

    app = create_app({"RATELIMIT_ENABLED": False, "API_RATE_LIMIT": "1000000/minute",
                      "SECRET_KEY": os.urandom(32).hex()})  # required outside tests
    logging.getLogger("timebank.request").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        for _line in seed_demo():
            pass
        db.session.commit()
        token, ben_id = _token_and_payee(app)

    host = "http://greenvale.localhost:5000"
    api = app.test_client()
    form = app.test_client()
    login_page = form.get(f"{host}/login").get_data(as_text=True)
    response = form.post(f"{host}/login", data={"email": "ann@greenvale.example.org",
                                                "password": "timebank-demo",
                                                "csrf_token": _csrf(login_page)})
    assert response.status_code == 302, response.status_code
    page = form.get(f"{host}/pay").get_data(as_text=True)
    csrf = _csrf(page)
    headers = {"Authorization": f"Bearer {token}"}

    def pay_api():
        response = api.post(f"{host}/api/v1/transfers", json={
            "kind": "payment", "counterpart_id": ben_id, "amount": 1,
            "description": "bench"}, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code == 201, response.get_data(as_text=True)

    def pay_form():
        response = form.post(f"{host}/pay", data={
            "csrf_token": csrf, "idempotency_key": uuid.uuid4().hex, "currency": "HOUR",
            "payee": ben_id, "amount": "0:01", "description": "bench"})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]

    for _ in range(20):  # warm up both paths
        pay_api()
        pay_form()
    walls = {"api": [], "form": []}
    cpu = {"api": 0.0, "form": 0.0}
    for _ in range(args.payments):
        for name, pay in (("api", pay_api), ("form", pay_form)):
            start, start_cpu = time.perf_counter(), time.process_time()
            pay()
            walls[name].append(time.perf_counter() - start)
            cpu[name] += time.process_time() - start_cpu
    print(f"{args.payments} payments each, alternating, in-process (ms)")
    print("| path | median | p95 | app CPU per payment |")
    print("|---|---|---|---|")
    for name in ("api", "form"):
        values = sorted(walls[name])
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"| {name} | {statistics.median(values) * 1000:.2f} | {p95 * 1000:.2f} | "
              f"{cpu[name] / args.payments * 1000:.2f} |")
    ratio = statistics.median(walls["api"]) / statistics.median(walls["form"])
    print(f"API / form median ratio: {ratio:.2f}")


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _token_and_payee(app):
    import sqlalchemy as sa

    from timebank.api.tokens import create_token
    from timebank.extensions import db
    from timebank.models import Group, Membership, User
    from timebank.tenants import group_context

    group = db.session.scalar(sa.select(Group).where(Group.slug == "greenvale"))
    with group_context(group.id):
        def member(email):
            return db.session.scalar(sa.select(Membership).join(User).where(User.email == email))

        ann, ben = member("ann@greenvale.example.org"), member("ben@greenvale.example.org")
        _row, raw = create_token(membership=ann, name="bench", scopes=["read", "write"], days=1)
        db.session.commit()
        return raw, ben.id


if __name__ == "__main__":
    main()
