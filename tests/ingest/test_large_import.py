"""A 100,000-row bank export imports whole, on SQLite and on PostgreSQL."""
import io
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import Transaction
from tests.conftest import add_user, app_on_fresh_database, login

ROWS = 100_000


def big_export(rows=ROWS, seed=7):
    """A realistic export: semicolon-delimited, day-first dates, comma decimals."""
    rng = random.Random(seed)
    merchants = ["REWE", "EDEKA", "Deutsche Bahn", "Amazon", "Spotify", "Shell", "Lidl", "IKEA"]
    out = io.StringIO()
    out.write("Buchungstag;Verwendungszweck;Betrag\n")
    total = Decimal(0)
    start = date(2020, 1, 1)
    for i in range(rows):
        amount = Decimal(rng.randint(-30000, 5000)) / 100
        total += amount
        day = start + timedelta(days=i // 60)
        out.write(f"{day:%d.%m.%Y};{rng.choice(merchants)} ref {i};"
                  f"{str(amount).replace('.', ',')}\n")
    return out.getvalue().encode(), total


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.slow),
                        pytest.param("postgres", marks=[pytest.mark.slow, pytest.mark.postgres])])
def any_db_app(request, tmp_path):
    with app_on_fresh_database(tmp_path, request.param) as app:
        yield app


def test_100k_row_import(any_db_app):
    app = any_db_app
    data, total = big_export()
    assert len(data) < app.config["MAX_CONTENT_LENGTH"]
    uid = add_user(app, "big@example.com")
    client = login(app.test_client(), "big@example.com")
    response = client.post("/api/ingest", data={"file": (io.BytesIO(data), "big.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    assert response.json["imported"] == ROWS and response.json["errors"] == []
    with app.app_context():
        count, stored_total = db.session.execute(
            select(func.count(Transaction.id), func.sum(Transaction.amount))
            .where(Transaction.user_id == uid)).one()
    assert count == ROWS and Decimal(stored_total) == total
    again = client.post("/api/ingest", data={"file": (io.BytesIO(data), "big.csv")},
                        content_type="multipart/form-data")
    assert again.json["imported"] == 0 and again.json["duplicates"] == ROWS
