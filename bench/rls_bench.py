"""What row-level security costs per request: the same requests, the same database, with
the second wall (isolation/db_wall.py) on and off, sides alternated in each round.

    .venv/bin/python bench/rls_bench.py [--rows 100000] [--rounds 7] [--requests 60]

One PostgreSQL database (migrated, so the policies exist) holds `--rows` transactions of 20
users over 72 months: 5 isolated by cohort (staff), 15 on the shared ledger. Two apps serve
it in this process through Flask's test client (no network, so the database work is a
larger part of each request than behind gunicorn): "on" as the app runs (requests as the
wall's role, policies evaluated), "off" with the wall's hook left out (requests as the login
role, which bypasses the policies; `scope()` still filters). Measured for an isolated viewer
and a shared-ledger viewer:

- list: `GET /api/transactions` first page (count + page);
- summary: `GET /api/charts/summary?month=…`, cold (a month not asked before since the
  cache was cleared: every request runs its aggregate).

Each round runs every (side, viewer, request) `--requests` times, the sides in alternating
order; a round's ratio is on/off of the medians; the table shows the median ratio over the
rounds with its spread (lowest–highest).
"""
import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.common import machine, table  # noqa: E402
from finance_app import create_app  # noqa: E402
from finance_app.extensions import cache, db  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
USERS = [(f"staff{i}@example.com", "staff") for i in range(5)] + \
        [(f"general{i}@example.com", "general") for i in range(15)]
VIEWERS = {"isolated": "staff0@example.com", "shared ledger": "general0@example.com"}
FIRST_MONTH = date(2020, 1, 1)
MONTHS = 72


def months():
    return [f"{FIRST_MONTH.year + m // 12}-{m % 12 + 1:02d}" for m in range(MONTHS)]


def make_app(folder, url, wall):
    settings = dict(SECRET_KEY="bench-" * 8, SQLALCHEMY_DATABASE_URI=url,
                    INSTANCE_DIR=str(folder), CACHE_DIR=str(folder / "cache"),
                    SESSION_COOKIE_SECURE=False)
    if wall:
        return create_app("production", **settings)
    with mock.patch("finance_app.isolation.db_wall.install", lambda engine: None):
        return create_app("production", **settings)


def fill(app, url, rows):
    """Users (the app's way: rollout buckets), the flag (staff isolated), rows by COPY."""
    import psycopg

    from finance_app.auth.service import create_user

    with app.app_context():
        upgrade()
        ids = [create_user(email, "bench-password", cohort=cohort).id for email, cohort in USERS]
        app.extensions["flags"].set_isolation({"staff"}, 0)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        with conn.cursor().copy("COPY transactions (user_id, date, amount, currency, "
                                "description, merchant, category, created_at) FROM STDIN") as copy:
            for i in range(rows):
                day = FIRST_MONTH + timedelta(days=(i * 7) % (MONTHS * 30))
                copy.write_row((ids[i % len(ids)], day, f"-{(i % 9000) / 100 + 1:.2f}", "EUR",
                                f"purchase {i}", f"Shop {i % 40}", f"Category {i % 12}",
                                "2024-01-01T00:00:00Z"))
        conn.execute("ANALYZE")


def token(app, email):
    client = app.test_client()
    response = client.post("/api/auth/tokens", json={"email": email, "password": "bench-password"})
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def timed(client, path, headers):
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return elapsed


def one_round(sides, headers, requests, order):
    """{(side, viewer, request): median seconds} for one round."""
    medians = {}
    for side in order:
        app = sides[side]
        client = app.test_client()
        with app.app_context():
            cache.clear()
        for viewer in VIEWERS:
            h = headers[side][viewer]
            timed(client, "/api/transactions", h)  # identity into the cache again
            medians[side, viewer, "list"] = statistics.median(
                timed(client, "/api/transactions", h) for _ in range(requests))
            medians[side, viewer, "summary"] = statistics.median(
                timed(client, f"/api/charts/summary?month={month}", h)
                for month in months()[:requests])
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    args.requests = min(args.requests, MONTHS)
    name = f"finance_rls_bench_{int(time.time())}"
    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"{PG}/{name}"
    sides = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            sides["on"] = make_app(folder / "on", url, wall=True)
            fill(sides["on"], url, args.rows)
            sides["off"] = make_app(folder / "off", url, wall=False)
            headers = {side: {viewer: token(app, email) for viewer, email in VIEWERS.items()}
                       for side, app in sides.items()}
            one_round(sides, headers, 5, ("on", "off"))  # warm-up: plans, pools, imports
            rounds = [one_round(sides, headers, args.requests,
                                ("on", "off") if r % 2 == 0 else ("off", "on"))
                      for r in range(args.rounds)]
            rows = []
            for viewer in VIEWERS:
                for request in ("list", "summary"):
                    on = [r["on", viewer, request] for r in rounds]
                    off = [r["off", viewer, request] for r in rounds]
                    ratios = sorted(a / b for a, b in zip(on, off))
                    rows.append((f"{request}, {viewer} viewer",
                                 f"{statistics.median(off) * 1000:.2f}",
                                 f"{statistics.median(on) * 1000:.2f}",
                                 f"{statistics.median(ratios):.2f}x",
                                 f"{ratios[0]:.2f}-{ratios[-1]:.2f}"))
            for app in sides.values():
                app.extensions["flags"].close()
                with app.app_context():
                    db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    with admin.connect() as conn:
        version = conn.execute(sa.text("SHOW server_version")).scalar()
    print(f"Row-level security: {args.rows:,} rows, {len(USERS)} users, {args.rounds} rounds "
          f"x {args.requests} requests per side, viewer and request; PostgreSQL {version}")
    print(machine())
    print(table(["request", "RLS off ms (p50)", "RLS on ms (p50)", "on/off (median)",
                 "spread over rounds"], rows))


if __name__ == "__main__":
    main()
