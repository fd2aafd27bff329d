"""The dashboard's migrations on SQLite and PostgreSQL. 0005 (cohorts, audit_events): the
cohorts users already carry are seeded (plus `general`); the downgrade drops both tables and
keeps every user. 0009 (app_settings): sign-ups join `general` until an admin chooses; the
downgrade drops the table and keeps every user."""
import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from finance_app.admin.settings import signup_cohort
from finance_app.extensions import db
from tests.migrations import test_migration_chain as chain
from tests.migrations.test_migration_chain import (
    FINGERPRINT_INDEX,
    IMPORT_MAPPINGS,
    NOW,
    _table_names,
    current_revision,
    users_t,
)

# The chain tests' fixture: an app on a fresh, empty SQLite or PostgreSQL database.
empty_db_app = chain.empty_db_app

HEAD = chain.HEAD


def cohort_names():
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT name FROM cohorts ORDER BY name")).scalars().all()


@pytest.mark.usefixtures("empty_db_app")
def test_cohorts_are_seeded_from_users_and_the_downgrade_keeps_users():
    upgrade(revision=IMPORT_MAPPINGS)
    with db.engine.begin() as conn:
        conn.execute(sa.insert(users_t), [
            dict(email=f"u{i}@example.com", password_hash="scrypt:x", cohort=cohort,
                 is_admin=False, created_at=NOW)
            for i, cohort in enumerate(("beta", "staff", "beta", "nightly"))])
    upgrade()
    assert current_revision() == HEAD
    assert cohort_names() == ["beta", "general", "nightly", "staff"]

    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit_events (created_at, actor_email, action, target, reason) "
            "VALUES (:at, 'admin@example.com', 'lock', 'lock', 'drill')"), {"at": NOW})
        first = conn.execute(sa.text("SELECT id FROM audit_events")).scalar()
        revert = "INSERT INTO audit_events (created_at, actor_email, action, target, reason, " \
                 "reverted_event_id) VALUES (:at, 'admin@example.com', 'lock', 'lock', 'undo', :r)"
        conn.execute(sa.text(revert), {"at": NOW, "r": first})
    # An event is reverted at most once: the database says so too.
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.text(revert), {"at": NOW, "r": first})

    downgrade(revision=IMPORT_MAPPINGS)
    assert current_revision() == IMPORT_MAPPINGS
    assert not {"cohorts", "audit_events"} & _table_names()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM users")).scalar() == 4

    upgrade()  # and up again: seeded again from the users
    assert cohort_names() == ["beta", "general", "nightly", "staff"]


@pytest.mark.usefixtures("empty_db_app")
def test_an_empty_install_gets_the_default_cohort():
    upgrade()
    assert cohort_names() == ["general"]


@pytest.mark.usefixtures("empty_db_app")
def test_app_settings_upgrade_and_downgrade_keep_users():
    upgrade(revision=FINGERPRINT_INDEX)
    with db.engine.begin() as conn:
        conn.execute(sa.insert(users_t), [dict(
            email="u@example.com", password_hash="scrypt:x", cohort="beta", is_admin=False,
            auth_version=1, created_at=NOW)])
    assert signup_cohort() == "general"  # mid-upgrade: no settings table yet

    upgrade()
    assert current_revision() == HEAD
    assert "app_settings" in _table_names()
    assert signup_cohort() == "general"  # nothing chosen yet: the old behaviour
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO app_settings (key, value, updated_at) "
                             "VALUES ('signup_cohort', 'beta', :at)"), {"at": NOW})
    assert signup_cohort() == "beta"
    db.session.remove()  # PostgreSQL: its read would hold off the downgrade's DROP TABLE

    downgrade(revision=FINGERPRINT_INDEX)
    assert current_revision() == FINGERPRINT_INDEX
    assert "app_settings" not in _table_names()
    assert signup_cohort() == "general"
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT cohort FROM users")).scalars().all() == ["beta"]

    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM app_settings")).scalar() == 0
