"""The databases `make bench` measures: the same users and tokens, 100k, 300k and 1M rows.

The first database is made the app's way (migrations, users with their rollout buckets, the
flag isolating the `staff` cohort, API tokens); its rows are generated inside PostgreSQL
(`generate_series`: seconds, not minutes). Each larger one is a copy of the one before
(`CREATE DATABASE … TEMPLATE`) with rows added, so the viewers' own rows are the same in
every size: the isolated viewer owns ISOLATED_VIEWER_ROWS of them whatever the table holds,
and only the rows of others grow.

Who owns the rest: 4 more staff users (isolated: off the shared ledger), 14 general ones and
the shared viewer (on it), in turn.
"""
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "bench-password"
ISOLATED_VIEWER = "isolated@bench.example"
SHARED_VIEWER = "shared@bench.example"
ADMIN = "admin@bench.example"
IMPORTER = "importer@bench.example"  # imports into the 100k database, then undoes them
OTHERS = [(f"staff{i}@bench.example", "staff") for i in range(4)] + \
         [(f"general{i}@bench.example", "general") for i in range(14)]
ISOLATED_VIEWER_ROWS = 5_000
DAYS = 6 * 365  # rows spread over six years from 2020-01-01


@dataclass
class Bench:
    """What the first database holds that the measurements need."""
    tokens: dict  # email -> bearer token
    user_ids: dict  # email -> id


def sa_url(name):
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def create_database(name, template=None):
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def drop_database(name):
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(name, instance: Path, url=None, **settings):
    """The app on database `name` (or reached at `url`), in this process: for building, the
    flag change and the in-process measures. `settings` are more config overrides."""
    from finance_app import create_app

    instance.mkdir(parents=True, exist_ok=True)
    return create_app("production", SECRET_KEY=secrets.token_hex(32),
                      SQLALCHEMY_DATABASE_URI=url or sa_url(name), INSTANCE_DIR=str(instance),
                      CACHE_DIR=str(instance / "cache"), SESSION_COOKIE_SECURE=False,
                      **settings)


def build_first(name, rows, instance: Path):
    """Database `name` with `rows` transactions, the users and their tokens."""
    from flask_migrate import upgrade

    from finance_app.auth.service import create_user
    from finance_app.extensions import db

    create_database(name)
    app = make_app(name, instance)
    people = [(ISOLATED_VIEWER, "staff"), (SHARED_VIEWER, "general"), (IMPORTER, "general"),
              *OTHERS]
    with app.app_context():
        upgrade()
        ids = {email: create_user(email, PASSWORD, cohort=cohort).id for email, cohort in people}
        ids[ADMIN] = create_user(ADMIN, PASSWORD, cohort="staff", is_admin=True).id
        app.extensions["flags"].set_isolation({"staff"}, 0)
    client = app.test_client()
    tokens = {}
    for email in ids:
        response = client.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
        assert response.status_code == 201, response.json
        tokens[email] = response.json["token"]
    app.extensions["flags"].close()
    with app.app_context():
        db.engine.dispose()  # a template database must have no connections
    with psycopg.connect(f"{PG_SERVER}/{name}", autocommit=True) as conn:
        # Every owned row is in an account of its owner (migration 0015): one each.
        conn.execute("INSERT INTO accounts (user_id, name, kind, currency, opening_balance, "
                     "created_at) SELECT id, 'Main account', 'checking', 'EUR', 0, now() "
                     "FROM users")
        conn.execute(_ROWS_FOR_ONE, (ids[ISOLATED_VIEWER], ids[ISOLATED_VIEWER],
                                     ISOLATED_VIEWER_ROWS))
        others = [ids[SHARED_VIEWER], *(ids[email] for email, _ in OTHERS)]
        _add_rows(conn, others, 1, rows - ISOLATED_VIEWER_ROWS)
    return Bench(tokens=tokens, user_ids=ids)


def grow(name, template, bench, rows_before, rows):
    """Database `name`: a copy of `template` with rows of others added up to `rows`."""
    create_database(name, template)
    with psycopg.connect(f"{PG_SERVER}/{name}", autocommit=True) as conn:
        others = [bench.user_ids[SHARED_VIEWER], *(bench.user_ids[e] for e, _ in OTHERS)]
        _add_rows(conn, others, rows_before - ISOLATED_VIEWER_ROWS + 1,
                  rows - ISOLATED_VIEWER_ROWS)


_ROWS_FOR_ONE = """
INSERT INTO transactions (user_id, account_id, date, amount, currency, description, merchant,
                          category, created_at)
SELECT %s, (SELECT id FROM accounts WHERE user_id = %s), DATE '2020-01-01' + (i * 7) %% 2190,
       -((i %% 9000) / 100.0 + 1), 'EUR', 'purchase ' || i, 'Shop ' || (i %% 40),
       'Category ' || (i %% 12), now()
FROM generate_series(1, %s) AS i
"""


def _add_rows(conn, owners, first, last):
    """Rows numbered first..last spread over `owners` (every row has an owner since
    migration 0003); then
    VACUUM ANALYZE (planner statistics, and the visibility map index-only scans need)."""
    accounts = [conn.execute("SELECT id FROM accounts WHERE user_id = %s",
                             (owner,)).fetchone()[0] for owner in owners]
    conn.execute("""
        INSERT INTO transactions (user_id, account_id, date, amount, currency, description,
                                  merchant, category, created_at)
        SELECT (%s::int[])[1 + i %% %s], (%s::int[])[1 + i %% %s],
               DATE '2020-01-01' + (i * 13) %% 2190, -((i %% 9000) / 100.0 + 1), 'EUR',
               'purchase ' || i, 'Shop ' || (i %% 40), 'Category ' || (i %% 12), now()
        FROM generate_series(%s::int, %s::int) AS i
    """, (owners, len(owners), accounts, len(owners), first, last))
    conn.execute("VACUUM ANALYZE")


def row_count(name):
    with psycopg.connect(f"{PG_SERVER}/{name}") as conn:
        return conn.execute("SELECT count(*) FROM transactions").fetchone()[0]
