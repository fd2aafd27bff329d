"""Time the CSV import of N rows (default 100,000) on SQLite and PostgreSQL, against
PostgreSQL's own COPY of the same rows, and report the import's peak Python memory.

    .venv/bin/python bench/import_bench.py [--rows N]

The app's import does more than COPY (charset and dialect detection, date and amount parsing,
duplicate fingerprints checked against the user's rows, one transaction); COPY is the floor.
"""
import argparse
import io
import random
import secrets
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.common import machine, table  # noqa: E402
from finance_app import create_app  # noqa: E402
from finance_app.extensions import db  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


def export(rows, seed=7):
    rng = random.Random(seed)
    merchants = ["REWE", "EDEKA", "Deutsche Bahn", "Amazon", "Spotify", "Shell", "Lidl", "IKEA"]
    out = io.StringIO()
    out.write("Buchungstag;Verwendungszweck;Betrag\n")
    for i in range(rows):
        amount = Decimal(rng.randint(-30000, 5000)) / 100
        day = date(2020, 1, 1) + timedelta(days=i // 60)
        out.write(f"{day:%d.%m.%Y};{rng.choice(merchants)} ref {i};{str(amount).replace('.', ',')}\n")
    return out.getvalue().encode()


def make(folder, url):
    # Production refuses a short or well-known secret; a throwaway random one does here.
    app = create_app("production", SECRET_KEY=secrets.token_hex(32), SQLALCHEMY_DATABASE_URI=url,
                     INSTANCE_DIR=str(folder), CACHE_DIR=str(folder / "cache"),
                     SESSION_COOKIE_SECURE=False, MAX_CONTENT_LENGTH=64 * 2**20)
    with app.app_context():
        upgrade()
    return app


def app_import(app, data):
    """Seconds for one user's import; then the peak Python memory of the same import by a
    second user, measured apart (tracemalloc slows every allocation)."""
    from finance_app.auth.service import create_user

    def import_as(email, trace):
        with app.app_context():
            create_user(email, "bench-password")
        client = app.test_client()
        token = client.post("/api/auth/tokens", json={"email": email, "password": "bench-password"}
                            ).json["token"]
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        response = client.post("/api/ingest", headers={"Authorization": f"Bearer {token}"},
                               data={"file": (io.BytesIO(data), "bench.csv")},
                               content_type="multipart/form-data")
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if trace else None
        tracemalloc.stop()
        assert response.status_code == 201, response.json
        return response.json["imported"], seconds, peak

    rows, seconds, _ = import_as("timed@example.com", trace=False)
    _, _, peak = import_as("traced@example.com", trace=True)
    return rows, seconds, peak


def copy_import(url, data):
    """COPY of the same, already parsed rows into the same table: the database's floor."""
    import psycopg

    rows = parsed(data)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        user_id = conn.execute("SELECT id FROM users ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute("DELETE FROM transactions")
        started = time.perf_counter()
        copy_rows(conn, user_id, rows)
        conn.commit()
        seconds = time.perf_counter() - started
        count = conn.execute("SELECT count(*) FROM transactions").fetchone()[0]
    return count, seconds


def parsed(data):
    """The export's rows as the table's columns: (date, amount, description)."""
    rows = []
    for line in data.decode().splitlines()[1:]:
        day, text, amount = line.split(";")
        d, m, y = day.split(".")
        rows.append((f"{y}-{m}-{d}", amount.replace(",", "."), text))
    return rows


def copy_rows(conn, user_id, rows):
    """COPY parsed rows into the table for `user_id` (in the connection's transaction), in
    their owner's first EUR account (made if need be: every owned row is in an account)."""
    account_id = conn.execute(
        "SELECT id FROM accounts WHERE user_id = %s AND currency = 'EUR' ORDER BY id LIMIT 1",
        (user_id,)).fetchone()
    if account_id is None:
        account_id = conn.execute(
            "INSERT INTO accounts (user_id, name, kind, currency, opening_balance, created_at) "
            "VALUES (%s, 'Bench COPY', 'checking', 'EUR', 0, now()) RETURNING id",
            (user_id,)).fetchone()
    with conn.cursor().copy("COPY transactions (user_id, account_id, date, amount, currency, "
                            "description, created_at) FROM STDIN") as copy:
        for day, amount, text in rows:
            copy.write_row((user_id, account_id[0], day, amount, "EUR", text,
                            "2024-01-01T00:00:00Z"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    data = export(args.rows)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sqlite_app = make(folder / "sqlite", f"sqlite:///{folder}/bench.db")
        rows, seconds, peak = app_import(sqlite_app, data)
        results.append(("app import, SQLite", rows, seconds, peak))
        sqlite_app.extensions["flags"].close()

        name = f"finance_bench_{int(time.time())}"
        admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            pg_app = make(folder / "pg", f"{PG}/{name}")
            rows, seconds, peak = app_import(pg_app, data)
            results.append(("app import, PostgreSQL", rows, seconds, peak))
            pg_app.extensions["flags"].close()
            with pg_app.app_context():
                db.engine.dispose()
            rows, seconds = copy_import(f"{PG}/{name}", data)
            results.append(("COPY (pre-parsed), PostgreSQL", rows, seconds, None))
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"CSV import benchmark: {args.rows:,} rows, {len(data) / 2**20:.1f} MB file")
    print(machine())
    print(table(["method", "rows", "seconds", "rows/s", "peak Python MB"], [
        (label, f"{rows:,}", f"{seconds:.2f}", f"{rows / seconds:,.0f}",
         "-" if peak is None else f"{peak / 2**20:.1f}")
        for label, rows, seconds, peak in results]))


if __name__ == "__main__":
    main()
