"""`make bench`'s import baseline (bench/import_bench.py `copy_rows`) still fits the schema: a
COPY of parsed rows straight into `transactions`, as the database's floor, must satisfy every
constraint the app's own rows do (it once broke when migration 0015 put every owned row in
an account, and nothing but a bench run noticed)."""
import psycopg
import pytest

from bench.import_bench import copy_rows
from tests.conftest import add_user

pytestmark = pytest.mark.postgres


def test_the_copy_baseline_writes_rows_the_schema_accepts(postgres_app):
    user_id = add_user(postgres_app, "bench@example.com")
    url = postgres_app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg",
                                                                 "postgresql")
    rows = [("2024-01-0%d" % day, "-%d.50" % day, "Deutsche Bahn ref %d" % day)
            for day in (1, 2, 3)]
    with psycopg.connect(url) as conn:
        copy_rows(conn, user_id, rows)
        conn.commit()
        stored = conn.execute(
            "SELECT t.user_id, a.user_id, a.currency, t.currency, count(*) FROM transactions t "
            "JOIN accounts a ON a.id = t.account_id GROUP BY 1, 2, 3, 4").fetchall()
    assert stored == [(user_id, user_id, "EUR", "EUR", 3)]
