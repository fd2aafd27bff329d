"""The CSV export streams: everything it can check is checked before the first byte, and a
failure after the headers are sent ends the download with a line saying it is incomplete
(and is logged) — never a file that looks whole, never a bare 500 after a 200."""
import csv
import io
import logging
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from finance_app.transactions.service import EXPORT_INCOMPLETE
from tests.conftest import add_transactions, add_user, app_on_fresh_database, login
from tests.support.services import PG_ADMIN_URL

ROWS = 3000  # several chunks: the export fetches and sends 1000 rows at a time


def end_other_connections(database_url):
    """What a database restart (or a killed backend) does to a request in flight."""
    name = sa.engine.make_url(database_url).database
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        ended = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name}).scalar()
    admin.dispose()
    return ended


@pytest.mark.postgres
def test_a_database_failure_mid_export_ends_it_visibly_and_is_logged(tmp_path, caplog):
    with app_on_fresh_database(tmp_path, "postgres", PROPAGATE_EXCEPTIONS=False) as app:
        uid = add_user(app, "erin@example.com")
        start = date(2020, 1, 1)
        add_transactions(app, uid, [(start + timedelta(days=i % 1500), "-1.00", f"row {i}")
                                    for i in range(ROWS)])
        client = login(app.test_client(), "erin@example.com")

        response = client.get("/transactions/export.csv", buffered=False)
        assert response.status_code == 200
        chunks = iter(response.response)
        received = next(chunks)
        assert end_other_connections(app.config["SQLALCHEMY_DATABASE_URI"]) >= 1
        # Migrating the database reconfigured logging (Alembic's fileConfig): listen on the
        # app's own logger rather than on the root's handlers.
        app_log = logging.getLogger("finance_app")
        app_log.addHandler(caplog.handler)
        try:
            received += b"".join(chunks)
        finally:
            app_log.removeHandler(caplog.handler)
        response.close()

    lines = received.decode().splitlines()
    assert lines[-1] == EXPORT_INCOMPLETE
    assert 1 < len(lines) - 2 < ROWS  # the header, some rows, the last line: not all rows
    assert all(len(row) == 6 for row in csv.reader(io.StringIO("\n".join(lines[:-1]))))
    assert any("export" in record.getMessage() for record in caplog.records)


def test_a_bad_filter_is_refused_before_anything_is_sent(dana):
    response = dana.get("/transactions/export.csv?month=2024-13")
    assert response.status_code == 422 and response.mimetype != "text/csv"


def test_a_complete_export_has_no_such_line(dana):
    text = dana.get("/transactions/export.csv").text
    assert EXPORT_INCOMPLETE not in text and text.startswith("date,amount")
