"""Preflight on an install in the middle of its upgrade: at revision 0002 the shared ledger
still has unowned rows and user_id is nullable. Both are red, and enabling is refused."""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from finance_app.extensions import db
from tests.admin.support import checks, enable, preflight
from tests.conftest import PASSWORD, add_user, make_app
from tests.migrations.test_migration_chain import HEAD

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def legacy_app(tmp_path):
    """Users and a shared ledger of 5 unowned rows, upgraded to 0002 (not to 0003)."""
    app = make_app(tmp_path)
    with app.app_context():
        upgrade(revision="0001_legacy")
    ids = {name: add_user(app, f"{name}@example.com", cohort, is_admin=name == "admin")
           for name, cohort in (("carol", "general"), ("bob", "beta"), ("admin", "staff"))}
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO transactions (date, amount, currency, description, created_at) "
                "VALUES (:date, :amount, 'EUR', :description, :created_at)"),
                [{"date": datetime(2024, 11, d).date(), "amount": f"-{d}.50",
                  "description": f"legacy {d}", "created_at": NOW} for d in range(1, 6)])
        upgrade(revision="0002_owner_nullable")  # defines the flag off: shared ledger kept
    yield app, ids
    app.extensions["flags"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def admin_by_token(app):
    """Mid-upgrade there are no server-side sessions yet (revision 8 adds them): the admin
    reaches the dashboard with an API token."""
    token = app.test_client().post("/api/auth/tokens", json={
        "email": "admin@example.com", "password": PASSWORD}).json["token"]
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_unowned_rows_and_nullable_owner_are_red(legacy_app):
    app, ids = legacy_app
    admin = admin_by_token(app)
    report = preflight(admin, "general")
    assert report["unowned_rows"] == {"transactions": 5, "import_batches": 0}
    assert report["migration"] == {"revision": "0002_owner_nullable",
                                   "head": HEAD, "not_null_applied": False}
    assert checks(report)["unowned_rows"] == "red"
    assert checks(report)["not_null_migration"] == "red"
    assert report["verdict"] == "red"
    # Carol sees the 5 shared rows, owns none: all 5 would vanish for her.
    assert report["users"] == [{"id": ids["carol"], "email": "carol@example.com",
                                "isolated_now": False, "isolated_after": True,
                                "own_rows": 0, "visible_rows": 5,
                                "would_vanish": 5}]

    blocked = enable(admin, "general")
    assert blocked.status_code == 409
    assert {c["name"] for c in blocked.json["error"]["checks"]} == {"unowned_rows",
                                                                    "not_null_migration"}
    with app.app_context():
        assert app.extensions["flags"].isolation_state()["cohorts"] == []


def test_owned_rows_before_the_not_null_migration_are_amber(legacy_app):
    app, ids = legacy_app
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE transactions SET user_id = :u"), {"u": ids["carol"]})
    admin = admin_by_token(app)
    report = preflight(admin, "general")
    assert checks(report)["unowned_rows"] == "green"
    assert checks(report)["not_null_migration"] == "amber"
    assert "flask db upgrade" in next(c["message"] for c in report["checks"]
                                      if c["name"] == "not_null_migration")
    assert report["users"][0]["would_vanish"] == 0  # carol owns every row now


def test_the_dashboard_reads_but_does_not_change_before_the_admin_tables_exist(legacy_app):
    app, ids = legacy_app
    admin = admin_by_token(app)
    page = admin.get("/admin/flags")
    assert page.status_code == 200
    assert 'id="migration-notice"' in page.text and "0002_owner_nullable" in page.text
    assert admin.get("/api/admin/audit").json == []
    assert {row["name"] for row in admin.get("/api/admin/cohorts").json} == {
        "general", "beta", "staff"}

    forced = enable(admin, "general", force=True)
    assert forced.status_code == 503
    assert forced.json["error"]["code"] == "migration_pending"
    with app.app_context():
        assert app.extensions["flags"].isolation_state()["cohorts"] == []
