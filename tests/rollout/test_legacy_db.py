"""`flask demo legacy-db`: a legacy install (revision 1) with a realistic shared ledger."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from finance_app.demo import DEMO_PASSWORD, DEMO_USERS
from finance_app.extensions import db
from tests.rollout.conftest import LEGACY, open_install

ROWS = 4000


@pytest.fixture
def sqlite_install(tmp_path):
    install, _ = open_install(tmp_path, "sqlite")
    yield install
    install.close()


def demo_merchants():
    names = set()
    for demo in DEMO_USERS:
        names |= {demo.employer, demo.landlord}
        names |= {merchant for options in demo.merchants.values() for merchant, _ in options}
    return names


def test_it_builds_revision_1_with_the_demo_users_and_an_unowned_ledger(sqlite_install):
    install = sqlite_install
    result = install.invoke("demo", "legacy-db", "--rows", ROWS)
    assert result.exit_code == 0, result.output
    assert install.revision() == LEGACY
    for table in ("transactions", "import_batches"):
        assert "user_id" not in install.columns(table)  # no owners at all: legacy

    users = install.sql("SELECT email, cohort, is_admin, password_hash FROM users").all()
    assert {(u.email, u.cohort, bool(u.is_admin)) for u in users} == {
        (d.email, d.cohort, d.is_admin) for d in DEMO_USERS}
    assert all(check_password_hash(u.password_hash, DEMO_PASSWORD) for u in users)

    with install.app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT date, amount, currency, description, merchant, category, fingerprint "
            "FROM transactions")).all()
    assert len(rows) == ROWS
    amounts = [Decimal(str(r.amount)) for r in rows]
    assert all(a != 0 and a == a.quantize(Decimal("0.01")) for a in amounts)
    assert any(a > 0 for a in amounts) and any(a < 0 for a in amounts)
    days = sorted(date.fromisoformat(str(r.date)) for r in rows)
    assert (days[-1] - days[0]).days > 365  # more than a year of history
    assert {r.merchant for r in rows} <= demo_merchants()
    assert len({r.merchant for r in rows}) > 30
    assert {r.currency for r in rows} == {"USD"}
    assert all(r.fingerprint and len(r.fingerprint) == 64 for r in rows)

    batches = install.sql("SELECT id, filename, row_count FROM import_batches").all()
    assert batches
    for batch_id, filename, row_count in batches:
        assert filename.endswith(".csv")
        assert row_count == install.scalar(
            "SELECT COUNT(*) FROM transactions WHERE import_batch_id = :b", b=batch_id) > 0
        assert f"import batch {batch_id}: {filename} ({row_count} rows)" in result.output
    assert install.scalar("SELECT COUNT(*) FROM transactions WHERE import_batch_id IS NULL") > 0
    # Legacy: no flag yet. Revision 2 defines it (switched off) because the ledger has rows.
    assert install.scalar("SELECT COUNT(*) FROM flag_definitions") == 0


def test_it_refuses_a_database_that_has_tables(sqlite_install):
    install = sqlite_install
    assert install.invoke("demo", "legacy-db", "--rows", 50).exit_code == 0
    before = install.ledger()
    again = install.invoke("demo", "legacy-db", "--rows", 50)
    assert again.exit_code == 1
    assert "already has tables" in again.output and "empty database" in again.output
    assert "Traceback" not in again.output
    assert install.ledger() == before


def test_it_refuses_an_install_at_head(app, runner):
    result = runner.invoke(args=["demo", "legacy-db", "--rows", "10"])
    assert result.exit_code == 1
    assert "already has tables" in result.output
    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM users")).scalar() == 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM transactions")).scalar() == 0


@pytest.mark.parametrize("rows", ["0", "-5", "1000001", "lots"])
def test_the_row_count_is_bounded(sqlite_install, rows):
    result = sqlite_install.invoke("demo", "legacy-db", "--rows", rows)
    assert result.exit_code == 2
    assert "--rows" in result.output
    with sqlite_install.app.app_context():
        assert sa.inspect(db.engine).get_table_names() == []
