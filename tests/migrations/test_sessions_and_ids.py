"""Migration 0008 (server-side sessions, ids never reused) on SQLite and PostgreSQL: every row
and id is kept both ways; at head a deleted row's id is never given again, in users and in
every owned table; the downgrade brings `auth_version` back and drops the sessions."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from finance_app.extensions import db
from tests.migrations import test_migration_chain as chain
from tests.migrations.test_migration_chain import (
    FINGERPRINT_INDEX,
    HEAD,
    LEGACY,
    NOW,
    NULLABLE,
    _table_names,
    accounted,
    add_account_at_head,
    assign_owners,
    columns,
    current_revision,
    insert_legacy_data,
    ledger,
    owned,
    sqlite_fk_violations,
    tokens_t,
    transactions_t,
    users_t,
)

# The chain tests' fixture: an app on a fresh, empty SQLite or PostgreSQL database.
empty_db_app = chain.empty_db_app

sessions_t = sa.table("user_sessions", sa.column("id", sa.Integer),
                      sa.column("user_id", sa.Integer), sa.column("session_hash", sa.String),
                      sa.column("created_at", sa.DateTime(timezone=True)))


def insert(table, **values):
    with db.engine.begin() as conn:
        return conn.execute(sa.insert(table).returning(table.c.id), values).scalar_one()


def delete(table, row_id):
    with db.engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.id == row_id))


def new_user(name):
    return insert(users_t, email=f"{name}@example.com", password_hash="scrypt:x",
                  cohort="general", is_admin=False, created_at=NOW)


def new_rows(user_id):
    """One row in each owned table of head, and a session (the account last: its
    transaction goes first when they are deleted in order)."""
    account = add_account_at_head(db.engine, user_id)
    return {
        "transactions": insert(accounted(transactions_t), date=date(2025, 1, 2), currency="EUR",
                               amount=Decimal("-1.00"), description="x", created_at=NOW,
                               user_id=user_id, account_id=account),
        "import_batches": insert(owned(chain.batches_t), filename="x.csv", row_count=0,
                                 created_at=NOW, user_id=user_id),
        "import_mappings": insert(sa.table("import_mappings", sa.column("id"),
                                           sa.column("user_id"), sa.column("layout"),
                                           sa.column("mapping"), sa.column("updated_at")),
                                  user_id=user_id, layout=f"layout-{user_id}", mapping="{}",
                                  updated_at=NOW),
        "api_tokens": insert(tokens_t, user_id=user_id, name="api", created_at=NOW,
                             token_hash=f"{user_id:064x}"),
        "user_sessions": insert(sessions_t, user_id=user_id, created_at=NOW,
                                session_hash=f"{user_id:064x}"),
        "accounts": account,
    }


def owned_ledger_at(revision):
    """A legacy ledger given owners, as a real install gets it, at `revision`."""
    upgrade(revision=LEGACY)
    before = insert_legacy_data()
    upgrade(revision=NULLABLE)
    assign_owners()
    upgrade(revision=revision)
    return before


def test_ids_are_never_given_twice_after_the_upgrade(empty_db_app):
    before = owned_ledger_at(FINGERPRINT_INDEX)
    upgrade()
    assert current_revision() == HEAD
    assert ledger() == before  # every row, id and amount kept
    assert "auth_version" not in columns("users")
    assert sqlite_fk_violations() == []

    # The highest ids are deleted; the next inserts get higher ones, in every table.
    first = new_user("first")
    first_rows = new_rows(first)
    for table, row_id in first_rows.items():
        delete(sa.table(table, sa.column("id")), row_id)
    delete(users_t, first)
    second = new_user("second")
    assert second > first
    for table, row_id in new_rows(second).items():
        assert row_id > first_rows[table], table


def test_the_downgrade_keeps_every_row_and_brings_auth_version_back(empty_db_app):
    before = owned_ledger_at(HEAD)
    user_id = new_user("signed-in")
    new_rows(user_id)
    kept = ledger()
    assert kept["users"] == before["users"] + [user_id]

    downgrade(revision=FINGERPRINT_INDEX)
    assert current_revision() == FINGERPRINT_INDEX
    assert "user_sessions" not in _table_names()
    assert ledger() == kept
    with db.engine.connect() as conn:
        assert set(conn.execute(sa.text("SELECT auth_version FROM users")).scalars()) == {1}
    assert sqlite_fk_violations() == []

    upgrade()
    assert current_revision() == HEAD
    assert ledger() == kept


@pytest.mark.usefixtures("empty_db_app")
def test_deleting_a_user_cascades_to_its_sessions():
    upgrade()
    alice, bob = new_user("alice"), new_user("bob")
    new_rows(alice)
    new_rows(bob)
    delete(users_t, alice)
    with db.engine.connect() as conn:
        owners = conn.execute(sa.select(sessions_t.c.user_id)).scalars().all()
        mappings = conn.execute(sa.text("SELECT user_id FROM import_mappings")).scalars().all()
    assert owners == [bob] and mappings == [bob]
