"""The plans of the transactions list's first page on PostgreSQL, as a request runs them.

    .venv/bin/python bench/list_plans.py [--rows 1000000] [--runs 5] [--keep]

rls_bench.py's database (20 users over 72 months, 5 isolated by cohort, 15 on the shared
ledger), vacuumed as autovacuum would leave it, so that an index-only scan need not visit
the table. For an isolated viewer and a shared-ledger viewer, the statements one
`GET /api/transactions` sends (its count and its page) are captured and explained with
`EXPLAIN (ANALYZE, BUFFERS)` the way the request ran them: as the wall's role, with the
request's principal, decision and rule (isolation/db_wall.py). Prints each plan once, then
the median execution time of `--runs` runs.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.common import machine, table  # noqa: E402
from bench.rls_bench import PG, USERS, VIEWERS, fill, make_app, token  # noqa: E402
from finance_app.extensions import db  # noqa: E402
from finance_app.isolation import db_wall  # noqa: E402


def list_statements(app, headers):
    """[(kind, statement, parameters, wall settings)] of one first-page request."""
    sent = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT") and "\nFROM transactions" in statement:
            kind = "count" if "count(" in statement.split("\nFROM", 1)[0] else "page"
            sent.append((kind, statement, parameters, db_wall.wanted_settings()))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        response = app.test_client().get("/api/transactions", headers=headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert response.status_code == 200, response.text[:200]
    return sent


def explain(conninfo, statement, parameters, wanted):
    with psycopg.connect(conninfo) as conn, conn.cursor() as cursor:
        cursor.execute(db_wall._settings(wanted))  # the settings the request's transaction had
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        lines = [row[0] for row in cursor.fetchall()]
    ms = float(next(line for line in lines if line.startswith("Execution Time")).split()[2])
    return lines, ms


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    name = f"finance_list_plans_{int(time.time())}"
    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        version = conn.execute(sa.text("SHOW server_version")).scalar()
    url = f"{PG}/{name}"
    conninfo = url.replace("postgresql+psycopg", "postgresql")
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(Path(tmp), url, wall=True)
            fill(app, url, args.rows)
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE transactions")
            for viewer, email in VIEWERS.items():
                for kind, statement, parameters, wanted in list_statements(app, token(app, email)):
                    runs = [explain(conninfo, statement, parameters, wanted)
                            for _ in range(args.runs)]
                    print(f"--- {viewer} viewer, {kind}\n{statement}\n" + "\n".join(runs[-1][0]))
                    rows.append((f"{kind}, {viewer} viewer",
                                 f"{statistics.median(ms for _, ms in runs):.2f}"))
            app.extensions["flags"].close()
            with app.app_context():
                db.engine.dispose()
    finally:
        if args.keep:
            print(f"kept: {conninfo}")
        else:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"List plans: {args.rows:,} rows, {len(USERS)} users, median of {args.runs} runs; "
          f"PostgreSQL {version}")
    print(machine())
    print(table(["statement", "execution ms (p50)"], rows))


if __name__ == "__main__":
    main()
