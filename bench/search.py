"""Benchmark marketplace search: typo-tolerant search beside an exact ILIKE, on the same data.

Loads 100 groups x 1,000 ads (100,000 ads, 20 members per group) into a dedicated database
(groups and members through the services, ads by COPY), then times, per query:

* **typo**: :func:`timebank.marketplace.search.search_ads` with a misspelt query (the real
  service: trigram + full text, count + one page + its eager loads), and
* **ilike**: the same visible-ads query with ``title ILIKE '%<correct word>%'`` instead,
  through the same page machinery (one query with its count, eager loads), on the same data
  in the same run.

To show that cost does not depend on how many other groups exist, it measures twice: after
loading the first 10 groups (10,000 ads), then after loading all 100 (100,000 ads).

Usage (the database name must contain "bench"; its public schema is dropped and rebuilt)::

    createdb -h 127.0.0.1 -U postgres timebank_bench
    .venv/bin/python bench/search.py --database-url postgresql://postgres@127.0.0.1/timebank_bench

Results go to stdout as a Markdown table (bench/RESULTS-search.md records a run).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

GROUPS = 100
ADS_PER_GROUP = 1_000
MEMBERS_PER_GROUP = 20
FIRST_STAGE_GROUPS = 10
RUNS_PER_QUERY = 60

WORDS = """
vegetables organic garden gardening tomatoes potatoes bread sourdough cake baking cooking
meals soup jam honey eggs apples guitar piano violin lessons music singing drawing painting
pottery knitting sewing mending clothes bicycle repair repairs puncture brakes car lift
transport moving boxes furniture carpentry shelves plumbing electrician painting decorating
computer laptop phone website translation english spanish french german homework maths
tutoring babysitting childcare dog walking cat sitting pets plants watering lawn mowing
hedge trimming firewood cleaning ironing laundry shopping errands company reading letters
massage yoga haircut photography video design printing tools drill ladder tent camping
verduras huerto clases guitarra bicicleta reparación pan tarta costura limpieza mudanza
légumes jardin cours vélo réparation couture ménage déménagement gâteau confiture
Gemüse Garten Unterricht Fahrrad Reparatur Nähen Putzen Umzug Kuchen Marmelade
""".split()

# (misspelt query, the word an exact ILIKE would look for)
QUERIES = [
    ("vegetalbes", "vegetables"),
    ("guitarr lesons", "guitar"),
    ("bicyle repiar", "bicycle"),
    ("carpentery", "carpentry"),
    ("babysiting", "babysitting"),
    ("plumbng", "plumbing"),
    ("sourdugh", "sourdough"),
    ("reparacion bicicleta", "bicicleta"),
    ("demenagement", "déménagement"),
    ("gemuse", "Gemüse"),
]


def _title(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, rng.randint(2, 5))).capitalize()[:120]


def load_groups(first: int, last: int, rng: random.Random) -> None:
    """Provision groups ``first..last-1`` through the services (currency, categories, a
    coordinator), add members as ORM rows, then COPY the ads in; commit."""
    from timebank.extensions import db
    from timebank.models import JoinPolicy, Membership, User
    from timebank.people import service as people
    from timebank.provisioning.service import create_group
    from timebank.tenants import group_context

    now = datetime.now(UTC)
    coordinator = people.find_user_by_email("coordinator@bench.example.org") or User(
        email="coordinator@bench.example.org", name="Bench Coordinator", password_hash="x")
    db.session.add(coordinator)
    db.session.flush()
    for number in range(first, last):
        group = create_group(
            name=f"Bench {number}", slug=f"bench{number}", default_locale="en",
            coordinator_email=coordinator.email, coordinator_name=coordinator.name,
            join_policy=JoinPolicy.OPEN,
        )
        membership_ids = []
        with group_context(group.id):
            for member in range(MEMBERS_PER_GROUP):
                user = User(email=f"m{member}@bench{number}.example.org",
                            name=f"Member {member}", password_hash="x")
                db.session.add(user)
                db.session.flush()
                membership = Membership(user_id=user.id, group_id=group.id, user=user)
                db.session.add(membership)
                db.session.flush()
                people.activate(membership=membership)
                membership_ids.append(membership.id)
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(
            "COPY ads (group_id, author_id, kind, title, body, tags, goods_or_service, status,"
            " expires_at, created_at, updated_at) FROM STDIN"
        ) as copy:
            for _ in range(ADS_PER_GROUP):
                created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 80))
                copy.write_row((
                    group.id, rng.choice(membership_ids), rng.choice(("offer", "want")),
                    _title(rng), " ".join(rng.choices(WORDS, k=20)),
                    "{" + ",".join(rng.sample(WORDS, 2)) + "}",
                    rng.choice(("goods", "service")), "active",
                    created + timedelta(days=90), created, created,
                ))
    db.session.commit()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure(app, group_ids: list[int], rng: random.Random) -> list[dict]:
    """Time each query as a typo search and as an exact ILIKE, on random groups."""
    from timebank.extensions import db
    from timebank.marketplace import search
    from timebank.models import Ad
    from timebank.tenants import group_context

    def ilike_search(word: str) -> int:
        # The same page machinery as the service (one query with its count, eager loads).
        statement = search.visible_ads().where(Ad.title.ilike(f"%{word}%"))
        ordered = statement.order_by(Ad.created_at.desc(), Ad.id.desc())
        return search.paginate(ordered, page=1, per_page=20).total

    rows = []
    for typo, exact in QUERIES:
        timings = {"typo": [], "ilike": []}
        found = {"typo": [], "ilike": []}
        for run in range(RUNS_PER_QUERY):
            group_id = rng.choice(group_ids)
            order = ("typo", "ilike") if run % 2 else ("ilike", "typo")
            for kind in order:
                with app.test_request_context(), group_context(group_id):
                    started = time.perf_counter()
                    if kind == "typo":
                        total = search.search_ads(query=typo).total
                    else:
                        total = ilike_search(exact)
                    timings[kind].append((time.perf_counter() - started) * 1000)
                    found[kind].append(total)
                    db.session.rollback()
        rows.append({
            "query": typo, "exact": exact,
            **{f"{kind}_{name}": value for kind in timings for name, value in (
                ("median", statistics.median(timings[kind])),
                ("p95", percentile(timings[kind], 0.95)),
                ("hits", statistics.mean(found[kind])),
            )},
        })
    return rows


def report(title: str, rows: list[dict]) -> str:
    lines = [f"### {title}", "",
             "| typo query | typo median ms | typo p95 ms | avg hits | exact ILIKE | "
             "ILIKE median ms | ILIKE p95 ms | avg hits |",
             "|---|---:|---:|---:|---|---:|---:|---:|"]
    for row in rows:
        lines.append(
            f"| `{row['query']}` | {row['typo_median']:.1f} | {row['typo_p95']:.1f} | "
            f"{row['typo_hits']:.0f} | `%{row['exact']}%` | {row['ilike_median']:.1f} | "
            f"{row['ilike_p95']:.1f} | {row['ilike_hits']:.0f} |")
    typo_all = [row["typo_p95"] for row in rows]
    ilike_all = [row["ilike_p95"] for row in rows]
    lines += ["", f"Worst p95: typo {max(typo_all):.1f} ms, ILIKE {max(ilike_all):.1f} ms.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if "bench" not in args.database_url.rsplit("/", 1)[-1]:
        parser.error("use a dedicated database whose name contains 'bench' (it is rebuilt)")

    from flask_migrate import upgrade

    from timebank import create_app
    from timebank.extensions import db

    app = create_app({"DATABASE_URL": args.database_url, "TESTING": True,
                      "MAIL_SUPPRESS_SEND": True, "REDIS_URL": None})
    rng = random.Random(args.seed)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        upgrade()
        trigram = db.session.scalar(sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')"))
        version = db.session.scalar(sa.text("SHOW server_version"))
        db.session.rollback()

        output = [f"PostgreSQL {version}; pg_trgm {'installed' if trigram else 'MISSING'}; "
                  f"{RUNS_PER_QUERY} runs per query on random groups; each typo run is the "
                  "whole search service call (count + page of 20 + eager loads).", ""]
        for stage_groups in (FIRST_STAGE_GROUPS, GROUPS):
            started = time.perf_counter()
            already = db.session.scalar(sa.text("SELECT count(*) FROM groups"))
            load_groups(already, stage_groups, rng)
            with db.engine.begin() as connection:
                connection.execute(sa.text("ANALYZE"))
            loaded = time.perf_counter() - started
            group_ids = list(db.session.scalars(sa.text("SELECT id FROM groups")))
            ads = db.session.scalar(sa.text("SELECT count(*) FROM ads"))
            db.session.rollback()
            print(f"loaded {stage_groups} groups / {ads} ads in {loaded:.0f} s", file=sys.stderr)
            rows = measure(app, group_ids, rng)
            output.append(report(f"{stage_groups} groups, {ads:,} ads", rows))
        with app.test_request_context():
            from timebank.marketplace.search import ad_search_statement
            from timebank.models import Ad
            from timebank.tenants import group_context

            with group_context(group_ids[0]):
                statement, _sort = ad_search_statement(query="guitarr lesons")
                statement = statement.add_columns(sa.func.count().over()).where(
                    Ad.group_id == group_ids[0])  # what the tenant scoping adds
                compiled = statement.limit(20).compile(
                    db.engine, compile_kwargs={"literal_binds": True})
                db.session.execute(sa.text(
                    "SELECT set_config('pg_trgm.word_similarity_threshold', '0.5', true)"))
                raw = db.session.connection().connection.driver_connection
                with raw.cursor() as cursor:
                    sql = str(compiled).replace("%%", "%")
                    cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}".encode())
                    plan = [row[0] for row in cursor.fetchall()]
        output += ["### Plan of the typo search `guitarr lesons` (one group, 100,000 ads)", "",
                   "```", *plan, "```", ""]
    print("\n".join(output))


if __name__ == "__main__":
    main()
